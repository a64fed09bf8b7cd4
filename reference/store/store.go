// Package store keeps a relay's queues and undelivered messages in memory
// and on disk: an append-only log per kind of data (docs/store.md), replayed
// and compacted at start and compacted again while it runs. A change the
// store acknowledged survives a crash, and under the default policy (fsync
// each write, with group commit) a power loss.
//
// Damage found at start (a torn or zero-filled tail, flipped bits) is set
// aside and reported, never a reason to refuse to start: replay
// resynchronises on the next intact record, and Recovery says what was
// dropped and where it was put.
package store

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/smpkit/smpkit/reference/wire"
)

// Status is a queue's administrative state.
type Status byte

const (
	Active  Status = 'A'
	Off     Status = 'O' // suspended by its recipient (OFF)
	Blocked Status = 'B' // blocked by the operator
)

// Queue is everything a relay keeps about one queue. Keys are DER
// SubjectPublicKeyInfo bytes; ids are the relay's 24-byte ids.
type Queue struct {
	RecipientID   []byte
	RecipientKeys [][]byte
	RcvDHSecret   []byte
	SenderID      []byte
	SenderKey     []byte // nil until the queue is secured
	Mode          byte   // 0 (not recorded, before v9), 'M' messaging, 'C' contact
	LinkID        []byte // nil when the queue has no short link
	LinkFixed     []byte
	LinkUser      []byte
	Notifier      *Notifier
	Status        Status
	BlockInfo     BlockInfo // why the operator blocked it, when Status is Blocked
	UpdatedAt     int64     // day precision, as Unix seconds
}

// BlockInfo is the detail of a blocked queue's ERR BLOCKED (upstream's
// BlockingInfo): the reason, and the client notice the operator attached.
type BlockInfo struct {
	Reason string  // "spam" or "content"; "" when not blocked
	Notice *Notice // nil: no notice
}

// Notice is a client notice (upstream's ClientNotice, SMP-NOTICE-1).
type Notice struct {
	TTL *int64 // seconds; nil: indefinitely
}

// Notifier holds a queue's notification credentials.
type Notifier struct {
	ID       []byte
	Key      []byte
	DHSecret []byte
	// ServiceID is the notifier service the notifier is associated with
	// (by NSUB in a service session, SMP-SVC-7); nil when none.
	ServiceID []byte
}

// Service is a service the relay has given an id (SMP-SVC-2): a client
// certificate's fingerprint keeps the same id across connections and
// restarts.
type Service struct {
	ID          []byte
	Role        byte // 'M' messaging, 'N' notifier, 'P' proxy
	Fingerprint []byte
	CreatedAt   int64 // Unix seconds
}

// Message is one stored message or QUOTA marker.
type Message struct {
	ID        []byte
	Timestamp int64 // seconds
	Notify    bool  // the sender's notification flag
	Body      []byte
	Quota     bool // a QUOTA marker: no body
}

// Options configure a store.
type Options struct {
	Sync         SyncPolicy
	SyncInterval time.Duration // for SyncInterval; zero means 1 s
	// FS is the file system; nil means the operating system's.
	FS FS
	// Backups is how many previous generations of each log Open keeps in
	// the backups directory before compacting; zero means 3, negative none.
	Backups int
	// CompactMin is the size below which messages.log is not compacted
	// while the store runs; zero means 1 MiB.
	CompactMin int64
	// Now is the clock for backup names (default time.Now).
	Now func() time.Time
}

// Recovery reports what Open found.
type Recovery struct {
	Queues, Messages int
	// Dropped lists damage found at start, one line per run of damaged
	// bytes (file, offset, length, where it was set aside), and orphaned
	// messages set aside.
	Dropped []string
	// Orphans counts messages whose queue record is missing (not deleted:
	// lost), set aside in messages.orphans.
	Orphans int
	Elapsed time.Duration
}

// Stats are the store's counters, for metrics.
type Stats struct {
	Queues, Messages int
	// WriteErrors counts failed writes, truncations, fsyncs and
	// compactions since Open. Each failed only the calls made meanwhile.
	WriteErrors int64
	Compactions int64
	// MessagesLog is the size of messages.log; LiveMessages the framed
	// size of the messages it must hold.
	MessagesLog, LiveMessages int64
	// QueuesLog is the size of queues.log, QueueRecords its records.
	QueuesLog, QueueRecords int64
}

// Errors callers branch on.
var (
	ErrDuplicate = errors.New("store: id already in use")
	ErrNoQueue   = errors.New("store: no such queue")
	// ErrInUse: another process (or Store) has the data directory open.
	ErrInUse = errors.New("data directory in use")
)

const (
	queuesFile   = "queues.log"
	messagesFile = "messages.log"
	orphansFile  = "messages.orphans"
	lockFile     = "lock"
	backupDir    = "backups"

	opPutQueue    = 'Q'
	opDeleteQueue = 'D'
	opService     = 'S'
	opAddMessage  = 'A'
	opDelMessage  = 'R'
)

// Store is the relay's state. All methods are safe for concurrent use.
type Store struct {
	fs   FS
	dir  string
	opts Options
	lock File

	mu         sync.Mutex
	queues     map[string]*Queue // by recipient id
	bySender   map[string]*Queue
	byNotifier map[string]*Queue
	byLink     map[string]*Queue
	byService  map[string]map[string]bool // notifier service id → its notifier ids
	services   map[string]*Service        // by fingerprint
	msgs       map[string][]Message       // by recipient id, oldest first
	qlog, mlog *appendLog
	frame      []byte // the record being written, reused (under mu)
	seq        uint64 // of the last record written
	live       int64  // framed size of the live message records
	// rewrite is set after a failed fsync: what it covered may be lost
	// (the kernel may drop the dirty pages), so the next write rewrites
	// both logs from memory.
	rewrite      atomic.Bool
	compactRetry int64       // messages.log size before which a failed compaction is not retried
	qrecords     int64       // records in queues.log
	qRetry       int64       // queues.log record count before which a failed compaction is not retried
	job          *compactJob // the online compaction running, if any (compact.go)
	closing      bool

	deferred    atomic.Bool
	writeErrors atomic.Int64
	compactions atomic.Int64

	// Group commit: the first caller of Durable that finds records
	// unsynced becomes the leader and fsyncs everything written so far;
	// the others wait for its result.
	syncMu  sync.Mutex // held while fsyncing and while a log file is swapped
	smu     sync.Mutex
	cond    *sync.Cond
	written atomic.Uint64
	synced  uint64
	syncing bool
	failTo  uint64 // records up to failTo were covered by a failed fsync
	failErr error
	// synclogs are the files the group commit fsyncs; hold holds back
	// records after holdSeq while a compaction ends (compact.go).
	synclogs [2]*appendLog
	hold     bool
	holdSeq  uint64

	stop, done chan struct{}
}

// Open loads (or creates) the store in dir, compacting its logs. Damage is
// set aside and reported in Recovery, never a reason to fail; Open fails
// only when it cannot read or write the directory, or when another process
// holds it (ErrInUse).
func Open(dir string, opts Options) (*Store, *Recovery, error) {
	start := time.Now()
	if opts.FS == nil {
		opts.FS = OSFS{}
	}
	if opts.Backups == 0 {
		opts.Backups = 3
	}
	if opts.CompactMin <= 0 {
		opts.CompactMin = 1 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SyncInterval <= 0 {
		opts.SyncInterval = time.Second
	}
	fsys := opts.FS
	if err := mkdirDurable(fsys, dir); err != nil {
		return nil, nil, err
	}
	lock, err := lockDir(fsys, dir)
	if err != nil {
		return nil, nil, err
	}
	s := &Store{
		fs: fsys, dir: dir, opts: opts, lock: lock,
		queues: map[string]*Queue{}, bySender: map[string]*Queue{},
		byNotifier: map[string]*Queue{}, byLink: map[string]*Queue{},
		byService: map[string]map[string]bool{}, services: map[string]*Service{},
		msgs: map[string][]Message{},
	}
	s.cond = sync.NewCond(&s.smu)
	rec, err := s.load()
	if err != nil {
		lock.Close()
		return nil, nil, err
	}
	rec.Elapsed = time.Since(start)
	if opts.Sync == SyncInterval {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.syncLoop(opts.SyncInterval)
	}
	return s, rec, nil
}

// LockDir takes the lock of a data directory as Open does, for a process
// that changes the directory without opening the store (smp-server delete):
// ErrInUse, naming the holder's pid, while a store has it open.
func LockDir(dir string) (io.Closer, error) { return lockDir(OSFS{}, dir) }

// lockDir takes the data directory's lock and writes our pid into it.
func lockDir(fsys FS, dir string) (File, error) {
	path := filepath.Join(dir, lockFile)
	lock, err := fsys.Lock(path)
	if errors.Is(err, ErrLocked) {
		pid := "unknown"
		if f, err := fsys.OpenFile(path, os.O_RDONLY, 0); err == nil {
			b, _ := io.ReadAll(io.LimitReader(f, 32))
			f.Close()
			if p := strings.TrimSpace(string(b)); p != "" {
				pid = p
			}
		}
		return nil, fmt.Errorf("store %s: %w (pid %s)", dir, ErrInUse, pid)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: lock: %w", dir, err)
	}
	if err := lock.Truncate(0); err == nil {
		fmt.Fprintf(lock, "%d\n", os.Getpid())
	}
	return lock, nil
}

// load replays both logs, sets damage and orphans aside, keeps backups and
// compacts.
func (s *Store) load() (*Recovery, error) {
	rec := &Recovery{}
	qpath, mpath := filepath.Join(s.dir, queuesFile), filepath.Join(s.dir, messagesFile)
	deleted := map[string]bool{}
	var orphans []byte
	if err := s.replay(qpath, rec, func(p []byte) error { return s.replayQueue(p, deleted) }); err != nil {
		return nil, err
	}
	if err := s.replay(mpath, rec, func(p []byte) error {
		rid, orphan, err := s.replayMessage(p, deleted)
		if orphan {
			orphans = appendFrame(orphans, p)
			rec.Orphans++
			_ = rid
		}
		return err
	}); err != nil {
		return nil, err
	}
	if rec.Orphans > 0 {
		if err := s.setAsideOrphans(orphans); err != nil {
			return nil, err
		}
		rec.Dropped = append(rec.Dropped, fmt.Sprintf("%s: %d messages of queues that are missing (not deleted) set aside in %s", messagesFile, rec.Orphans, orphansFile))
	}
	if err := s.backup(); err != nil {
		return nil, err
	}
	// Messages first: a crash between the two leaves the old queues.log,
	// whose deletion records still explain every message missing.
	if err := s.snapshotMessages(); err != nil {
		return nil, fmt.Errorf("compact %s: %w", mpath, err)
	}
	if err := s.snapshotQueues(); err != nil {
		return nil, fmt.Errorf("compact %s: %w", qpath, err)
	}
	var err error
	if s.qlog, err = openAppendLog(s.fs, qpath); err != nil {
		return nil, err
	}
	if s.mlog, err = openAppendLog(s.fs, mpath); err != nil {
		s.qlog.close()
		return nil, err
	}
	s.synclogs = [2]*appendLog{s.qlog, s.mlog}
	s.qrecords = int64(len(s.queues) + len(s.services))
	rec.Queues = len(s.queues)
	for _, ms := range s.msgs {
		rec.Messages += len(ms)
	}
	return rec, nil
}

// replay scans one log and sets its damaged bytes aside in path.damaged.
func (s *Store) replay(path string, rec *Recovery, apply func([]byte) error) error {
	f, err := s.fs.OpenFile(path, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return err
	}
	bad, _, _, err := scanLog(f, size, apply)
	if err != nil {
		return fmt.Errorf("load %s: %w", path, err)
	}
	if len(bad) == 0 {
		return nil
	}
	var set []byte
	for _, d := range bad {
		b := make([]byte, d.n)
		if _, err := f.ReadAt(b, d.off); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read damage in %s: %w", path, err)
		}
		set = append(set, b...)
		rec.Dropped = append(rec.Dropped, fmt.Sprintf("%s: %d damaged bytes at offset %d set aside in %s.damaged",
			filepath.Base(path), d.n, d.off, filepath.Base(path)))
	}
	if err := appendFile(s.fs, path+".damaged", set); err != nil {
		return fmt.Errorf("set aside damage in %s: %w", path, err)
	}
	return nil
}

func (s *Store) setAsideOrphans(frames []byte) error {
	path := filepath.Join(s.dir, orphansFile)
	f, err := s.fs.OpenFile(path, os.O_RDONLY, 0)
	head := []byte(fileMagic)
	if err == nil {
		if n, _ := f.Size(); n > 0 {
			head = nil
		}
		f.Close()
	}
	if err := appendFile(s.fs, path, append(head, frames...)); err != nil {
		return fmt.Errorf("set aside orphaned messages: %w", err)
	}
	return nil
}

// backup links the current logs into the backups directory under the time
// of this start, and removes all but the newest opts.Backups of each.
func (s *Store) backup() error {
	if s.opts.Backups < 0 {
		return nil
	}
	bdir := filepath.Join(s.dir, backupDir)
	if err := mkdirDurable(s.fs, bdir); err != nil {
		return err
	}
	stamp := s.opts.Now().UTC().Format("20060102T150405.000000000Z")
	names, err := s.fs.ReadDir(bdir)
	if err != nil {
		return err
	}
	for _, f := range []string{queuesFile, messagesFile} {
		src := filepath.Join(s.dir, f)
		dst := filepath.Join(bdir, f+"."+stamp)
		err := s.fs.Link(src, dst)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrExist) {
			// A file system without hard links: copy.
			if err := copyFile(s.fs, src, dst); err != nil {
				return fmt.Errorf("back up %s: %w", f, err)
			}
		}
		var old []string
		for _, n := range names {
			if strings.HasPrefix(n, f+".") && n != f+"."+stamp {
				old = append(old, n)
			}
		}
		for len(old) >= s.opts.Backups {
			s.fs.Remove(filepath.Join(bdir, old[0]))
			old = old[1:]
		}
	}
	return syncDir(s.fs, bdir)
}

func (s *Store) snapshotQueues() error {
	return writeSnapshot(s.fs, filepath.Join(s.dir, queuesFile), func(emit func([]byte) error) error {
		for _, sv := range s.services {
			if err := emit(encodeService(sv)); err != nil {
				return err
			}
		}
		for _, q := range s.queues {
			if err := emit(encodeQueue(q)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) snapshotMessages() error {
	s.live = 0
	return writeSnapshot(s.fs, filepath.Join(s.dir, messagesFile), func(emit func([]byte) error) error {
		for rid, ms := range s.msgs {
			for i := range ms {
				s.live += msgRecordSize(rid, &ms[i])
				if err := emit(encodeAddMessage([]byte(rid), &ms[i])); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Close makes everything written durable and closes the logs, after the
// compaction running, if any.
func (s *Store) Close() error {
	s.mu.Lock()
	s.closing = true
	j := s.job
	s.mu.Unlock()
	if j != nil {
		<-j.done
	}
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncMu.Lock()
	err := s.syncFiles()
	s.syncMu.Unlock()
	return errors.Join(err, s.qlog.close(), s.mlog.close(), s.lock.Close())
}

func (s *Store) replayQueue(p []byte, deleted map[string]bool) error {
	switch p[0] {
	case opPutQueue:
		q, err := decodeQueue(p)
		if err != nil {
			return errDamaged
		}
		if old := s.queues[string(q.RecipientID)]; old != nil {
			s.unindex(old)
		}
		delete(deleted, string(q.RecipientID))
		s.index(q)
	case opDeleteQueue:
		if old := s.queues[string(p[1:])]; old != nil {
			s.unindex(old)
			delete(s.msgs, string(old.RecipientID))
		}
		deleted[string(p[1:])] = true
	case opService:
		sv, err := decodeService(p)
		if err != nil {
			return errDamaged
		}
		s.services[string(sv.Fingerprint)] = sv
	default:
		return errDamaged
	}
	return nil
}

// replayMessage applies one messages.log record. A message of a queue
// that is missing, and not deleted, is an orphan: the caller sets it aside.
func (s *Store) replayMessage(p []byte, deleted map[string]bool) (rid string, orphan bool, err error) {
	rp := wire.NewParser(p[1:])
	rid = string(rp.Short())
	switch p[0] {
	case opAddMessage:
		m := decodeMessage(rp)
		if rp.Finish() != nil {
			return rid, false, errDamaged
		}
		if s.queues[rid] == nil {
			return rid, !deleted[rid], nil
		}
		s.msgs[rid] = append(s.msgs[rid], m)
	case opDelMessage:
		id := rp.Short()
		if rp.Finish() != nil {
			return rid, false, errDamaged
		}
		// By id, not only at the head: if damage took an earlier
		// deletion, the later ones still apply.
		ms := s.msgs[rid]
		for i := range ms {
			if bytes.Equal(ms[i].ID, id) {
				s.msgs[rid] = append(ms[:i:i], ms[i+1:]...)
				if len(s.msgs[rid]) == 0 {
					delete(s.msgs, rid)
				}
				break
			}
		}
	default:
		return rid, false, errDamaged
	}
	return rid, false, nil
}

func (s *Store) index(q *Queue) {
	s.queues[string(q.RecipientID)] = q
	s.bySender[string(q.SenderID)] = q
	if q.Notifier != nil {
		s.byNotifier[string(q.Notifier.ID)] = q
		if sid := q.Notifier.ServiceID; sid != nil {
			if s.byService[string(sid)] == nil {
				s.byService[string(sid)] = map[string]bool{}
			}
			s.byService[string(sid)][string(q.Notifier.ID)] = true
		}
	}
	if q.LinkID != nil {
		s.byLink[string(q.LinkID)] = q
	}
}

func (s *Store) unindex(q *Queue) {
	delete(s.queues, string(q.RecipientID))
	delete(s.bySender, string(q.SenderID))
	if q.Notifier != nil {
		delete(s.byNotifier, string(q.Notifier.ID))
		if sid := q.Notifier.ServiceID; sid != nil {
			delete(s.byService[string(sid)], string(q.Notifier.ID))
			if len(s.byService[string(sid)]) == 0 {
				delete(s.byService, string(sid))
			}
		}
	}
	if q.LinkID != nil {
		delete(s.byLink, string(q.LinkID))
	}
}

// idTaken reports whether any id of q is used by another queue as the same
// kind of id. Each kind is looked up in its own map, so the kinds need not be
// disjoint (with 24 random bytes they are anyway).
func (s *Store) idTaken(q *Queue) bool {
	taken := func(m map[string]*Queue, id []byte) bool {
		o := m[string(id)]
		return o != nil && !bytes.Equal(o.RecipientID, q.RecipientID)
	}
	if taken(s.queues, q.RecipientID) || taken(s.bySender, q.SenderID) {
		return true
	}
	if q.Notifier != nil && taken(s.byNotifier, q.Notifier.ID) {
		return true
	}
	return q.LinkID != nil && taken(s.byLink, q.LinkID)
}

// CreateQueue stores a new queue. Any id already in use (by any queue, as
// any kind of id) gives ErrDuplicate.
func (s *Store) CreateQueue(q Queue) error {
	c := cloneQueue(&q)
	s.mu.Lock()
	if s.queues[string(c.RecipientID)] != nil || s.idTaken(c) {
		s.mu.Unlock()
		return ErrDuplicate
	}
	seq, err := s.write(&s.qlog, encodeQueue(c))
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("store: write queue: %w", err)
	}
	s.index(c)
	s.maybeCompactQueues()
	s.mu.Unlock()
	return s.wait(seq)
}

// IDKind says which id a lookup uses.
type IDKind int

const (
	ByRecipient IDKind = iota
	BySender
	ByNotifier
	ByLink
)

// Queue returns a copy of the queue with the given id, or ErrNoQueue.
func (s *Store) Queue(kind IDKind, id []byte) (*Queue, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.lookup(kind, id)
	if q == nil {
		return nil, ErrNoQueue
	}
	return cloneQueue(q), nil
}

func (s *Store) lookup(kind IDKind, id []byte) *Queue {
	switch kind {
	case ByRecipient:
		return s.queues[string(id)]
	case BySender:
		return s.bySender[string(id)]
	case ByNotifier:
		return s.byNotifier[string(id)]
	case ByLink:
		return s.byLink[string(id)]
	}
	return nil
}

// UpdateQueue applies fn to a copy of the queue and stores the result. If fn
// returns an error nothing changes. The recipient id cannot change.
func (s *Store) UpdateQueue(rid []byte, fn func(q *Queue) error) (*Queue, error) {
	q, seq, err := s.updateQueue(rid, fn)
	if err != nil {
		return nil, err
	}
	return q, s.wait(seq)
}

func (s *Store) updateQueue(rid []byte, fn func(q *Queue) error) (*Queue, uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.queues[string(rid)]
	if old == nil {
		return nil, 0, ErrNoQueue
	}
	q := cloneQueue(old)
	if err := fn(q); err != nil {
		return nil, 0, err
	}
	q.RecipientID = old.RecipientID
	if s.idTaken(q) {
		return nil, 0, ErrDuplicate
	}
	seq, err := s.write(&s.qlog, encodeQueue(q))
	if err != nil {
		return nil, 0, fmt.Errorf("store: write queue: %w", err)
	}
	s.unindex(old)
	s.index(q)
	s.maybeCompactQueues()
	return cloneQueue(q), seq, nil
}

// DeleteQueue removes a queue and all its messages.
func (s *Store) DeleteQueue(rid []byte) error {
	s.mu.Lock()
	q := s.queues[string(rid)]
	if q == nil {
		s.mu.Unlock()
		return ErrNoQueue
	}
	seq, err := s.write(&s.qlog, append([]byte{opDeleteQueue}, rid...))
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("store: write queue deletion: %w", err)
	}
	s.unindex(q)
	for i := range s.msgs[string(rid)] {
		s.live -= msgRecordSize(string(rid), &s.msgs[string(rid)][i])
	}
	delete(s.msgs, string(rid))
	s.maybeCompact()
	s.maybeCompactQueues()
	s.mu.Unlock()
	return s.wait(seq)
}

// AddMessage appends a message to a queue.
func (s *Store) AddMessage(rid []byte, m Message) error {
	s.mu.Lock()
	if s.queues[string(rid)] == nil {
		s.mu.Unlock()
		return ErrNoQueue
	}
	m = cloneMessage(m)
	seq, err := s.write(&s.mlog, encodeAddMessage(rid, &m))
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("store: write message: %w", err)
	}
	s.msgs[string(rid)] = append(s.msgs[string(rid)], m)
	s.live += msgRecordSize(string(rid), &m)
	s.maybeCompact()
	s.mu.Unlock()
	return s.wait(seq)
}

// Head returns the oldest message of a queue; ok is false when it is empty.
func (s *Store) Head(rid []byte) (m Message, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.msgs[string(rid)]
	if len(ms) == 0 {
		return Message{}, false
	}
	return cloneMessage(ms[0]), true
}

// Size is the number of messages (QUOTA marker included) in a queue, and
// whether the newest one is a QUOTA marker.
func (s *Store) Size(rid []byte) (n int, quotaLast bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.msgs[string(rid)]
	return len(ms), len(ms) > 0 && ms[len(ms)-1].Quota
}

// DeleteHead removes the oldest message if its id is msgID and reports
// whether it did.
func (s *Store) DeleteHead(rid, msgID []byte) (bool, error) {
	s.mu.Lock()
	ms := s.msgs[string(rid)]
	if len(ms) == 0 || !bytes.Equal(ms[0].ID, msgID) {
		s.mu.Unlock()
		return false, nil
	}
	seq, err := s.write(&s.mlog, encodeDelMessage(rid, msgID))
	if err != nil {
		s.mu.Unlock()
		return false, fmt.Errorf("store: write message deletion: %w", err)
	}
	s.popHead(string(rid))
	s.maybeCompact()
	s.mu.Unlock()
	return true, s.wait(seq)
}

func (s *Store) popHead(rid string) {
	ms := s.msgs[rid]
	s.live -= msgRecordSize(rid, &ms[0])
	if s.job != nil {
		// The job's snapshot may still be reading it.
		s.job.zero = append(s.job.zero, &ms[0])
	} else {
		ms[0] = Message{} // for the GC: the body is delivered
	}
	if len(ms) == 1 {
		delete(s.msgs, rid)
		return
	}
	s.msgs[rid] = ms[1:]
}

// ExpireMessages deletes, from the head of every queue, messages older than
// before (Unix seconds), stopping at the first younger message or QUOTA
// marker. It returns how many it deleted.
func (s *Store) ExpireMessages(before int64) (int, error) {
	s.mu.Lock()
	n := 0
	var seq uint64
	var err error
loop:
	for rid, ms := range s.msgs {
		for len(ms) > 0 && !ms[0].Quota && ms[0].Timestamp < before {
			var sq uint64
			if sq, err = s.write(&s.mlog, encodeDelMessage([]byte(rid), ms[0].ID)); err != nil {
				err = fmt.Errorf("store: write message expiry: %w", err)
				break loop
			}
			seq = sq
			s.popHead(rid)
			ms = s.msgs[rid]
			n++
		}
	}
	if n > 0 {
		s.maybeCompact()
	}
	s.mu.Unlock()
	return n, errors.Join(err, s.wait(seq))
}

// PutService stores a service. A service with the same id or fingerprint
// gives ErrDuplicate.
func (s *Store) PutService(sv Service) error {
	c := Service{ID: clone(sv.ID), Role: sv.Role, Fingerprint: clone(sv.Fingerprint), CreatedAt: sv.CreatedAt}
	s.mu.Lock()
	for _, o := range s.services {
		if bytes.Equal(o.ID, c.ID) || bytes.Equal(o.Fingerprint, c.Fingerprint) {
			s.mu.Unlock()
			return ErrDuplicate
		}
	}
	seq, err := s.write(&s.qlog, encodeService(&c))
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("store: write service: %w", err)
	}
	s.services[string(c.Fingerprint)] = &c
	s.maybeCompactQueues()
	s.mu.Unlock()
	return s.wait(seq)
}

// Services returns copies of every service.
func (s *Store) Services() []Service {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Service, 0, len(s.services))
	for _, sv := range s.services {
		out = append(out, Service{ID: clone(sv.ID), Role: sv.Role, Fingerprint: clone(sv.Fingerprint), CreatedAt: sv.CreatedAt})
	}
	return out
}

// ServiceNotifiers returns the ids of the notifiers associated with a
// notifier service.
func (s *Store) ServiceNotifiers(serviceID []byte) [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out [][]byte
	for nid := range s.byService[string(serviceID)] {
		out = append(out, []byte(nid))
	}
	return out
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Queues: len(s.queues), WriteErrors: s.writeErrors.Load(), Compactions: s.compactions.Load(),
		MessagesLog: s.mlog.size, LiveMessages: s.live, QueuesLog: s.qlog.size, QueueRecords: s.qrecords}
	for _, ms := range s.msgs {
		st.Messages += len(ms)
	}
	return st
}

// Counts returns the number of queues and stored messages.
func (s *Store) Counts() (queues, messages int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ms := range s.msgs {
		messages += len(ms)
	}
	return len(s.queues), messages
}
