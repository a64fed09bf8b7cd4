package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
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
	BlockInfo     string // the ERR BLOCKED detail when Status is Blocked
	UpdatedAt     int64  // day precision, as Unix seconds
}

// Notifier holds a queue's notification credentials.
type Notifier struct {
	ID       []byte
	Key      []byte
	DHSecret []byte
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
}

// Recovery reports what Open found.
type Recovery struct {
	Queues, Messages int
	// Dropped lists damage found at start: one line per file, saying how
	// many bytes from which offset were set aside.
	Dropped []string
	// Orphans counts journal records of queues deleted since the last
	// compaction: expected after any deletion, and dropped.
	Orphans int
	Elapsed time.Duration
}

// Errors callers branch on.
var (
	ErrDuplicate = errors.New("store: id already in use")
	ErrNoQueue   = errors.New("store: no such queue")
)

const (
	queuesFile   = "queues.log"
	messagesFile = "messages.log"

	opPutQueue    = 'Q'
	opDeleteQueue = 'D'
	opAddMessage  = 'A'
	opDelMessage  = 'R'
)

// Store is the relay's state. All methods are safe for concurrent use.
type Store struct {
	mu         sync.Mutex
	queues     map[string]*Queue // by recipient id
	bySender   map[string]*Queue
	byNotifier map[string]*Queue
	byLink     map[string]*Queue
	msgs       map[string][]Message // by recipient id, oldest first
	qlog, mlog *appendLog
}

// Open loads (or creates) the store in dir, compacting its logs.
func Open(dir string, opts Options) (*Store, *Recovery, error) {
	start := time.Now()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	s := &Store{
		queues: map[string]*Queue{}, bySender: map[string]*Queue{},
		byNotifier: map[string]*Queue{}, byLink: map[string]*Queue{},
		msgs: map[string][]Message{},
	}
	rec := &Recovery{}
	qpath, mpath := filepath.Join(dir, queuesFile), filepath.Join(dir, messagesFile)

	load := func(path string, apply func([]byte) error) error {
		good, size, err := readLog(path, apply)
		if err != nil {
			return fmt.Errorf("load %s: %w", path, err)
		}
		if good < size {
			if err := setAside(path, good); err != nil {
				return fmt.Errorf("set aside damage in %s: %w", path, err)
			}
			rec.Dropped = append(rec.Dropped, fmt.Sprintf("%s: %d damaged bytes from offset %d set aside in %s.damaged", filepath.Base(path), size-good, good, filepath.Base(path)))
		}
		return nil
	}
	if err := load(qpath, s.replayQueue); err != nil {
		return nil, nil, err
	}
	if err := load(mpath, func(p []byte) error { return s.replayMessage(p, rec) }); err != nil {
		return nil, nil, err
	}

	// Compact: each file becomes the current state only.
	err := writeSnapshot(qpath, func(emit func([]byte) error) error {
		for _, q := range s.queues {
			if err := emit(encodeQueue(q)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("compact %s: %w", qpath, err)
	}
	err = writeSnapshot(mpath, func(emit func([]byte) error) error {
		for rid, ms := range s.msgs {
			for i := range ms {
				if err := emit(encodeAddMessage([]byte(rid), &ms[i])); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("compact %s: %w", mpath, err)
	}
	if s.qlog, err = openAppendLog(qpath, opts.Sync, opts.SyncInterval); err != nil {
		return nil, nil, err
	}
	if s.mlog, err = openAppendLog(mpath, opts.Sync, opts.SyncInterval); err != nil {
		s.qlog.close()
		return nil, nil, err
	}
	rec.Queues = len(s.queues)
	for _, ms := range s.msgs {
		rec.Messages += len(ms)
	}
	rec.Elapsed = time.Since(start)
	return s, rec, nil
}

// Close flushes and closes the logs.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.qlog.close(), s.mlog.close())
}

func (s *Store) replayQueue(p []byte) error {
	switch p[0] {
	case opPutQueue:
		q, err := decodeQueue(p)
		if err != nil {
			return errDamaged
		}
		if old := s.queues[string(q.RecipientID)]; old != nil {
			s.unindex(old)
		}
		s.index(q)
	case opDeleteQueue:
		if old := s.queues[string(p[1:])]; old != nil {
			s.unindex(old)
			delete(s.msgs, string(old.RecipientID))
		}
	default:
		return errDamaged
	}
	return nil
}

func (s *Store) replayMessage(p []byte, rec *Recovery) error {
	rp := wire.NewParser(p[1:])
	rid := string(rp.Short())
	switch p[0] {
	case opAddMessage:
		m := decodeMessage(rp)
		if rp.Finish() != nil {
			return errDamaged
		}
		if s.queues[rid] == nil {
			rec.Orphans++
			return nil
		}
		s.msgs[rid] = append(s.msgs[rid], m)
	case opDelMessage:
		id := rp.Short()
		if rp.Finish() != nil {
			return errDamaged
		}
		if ms := s.msgs[rid]; len(ms) > 0 && bytes.Equal(ms[0].ID, id) {
			s.popHead(rid)
		}
	default:
		return errDamaged
	}
	return nil
}

func (s *Store) index(q *Queue) {
	s.queues[string(q.RecipientID)] = q
	s.bySender[string(q.SenderID)] = q
	if q.Notifier != nil {
		s.byNotifier[string(q.Notifier.ID)] = q
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
	defer s.mu.Unlock()
	if s.queues[string(c.RecipientID)] != nil || s.idTaken(c) {
		return ErrDuplicate
	}
	if err := s.qlog.append(encodeQueue(c)); err != nil {
		return fmt.Errorf("store: write queue: %w", err)
	}
	s.index(c)
	return nil
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
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.queues[string(rid)]
	if old == nil {
		return nil, ErrNoQueue
	}
	q := cloneQueue(old)
	if err := fn(q); err != nil {
		return nil, err
	}
	q.RecipientID = old.RecipientID
	if s.idTaken(q) {
		return nil, ErrDuplicate
	}
	if err := s.qlog.append(encodeQueue(q)); err != nil {
		return nil, fmt.Errorf("store: write queue: %w", err)
	}
	s.unindex(old)
	s.index(q)
	return cloneQueue(q), nil
}

// DeleteQueue removes a queue and all its messages.
func (s *Store) DeleteQueue(rid []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queues[string(rid)]
	if q == nil {
		return ErrNoQueue
	}
	if err := s.qlog.append(append([]byte{opDeleteQueue}, rid...)); err != nil {
		return fmt.Errorf("store: write queue deletion: %w", err)
	}
	s.unindex(q)
	delete(s.msgs, string(rid))
	return nil
}

// AddMessage appends a message to a queue.
func (s *Store) AddMessage(rid []byte, m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.queues[string(rid)] == nil {
		return ErrNoQueue
	}
	m = cloneMessage(m)
	if err := s.mlog.append(encodeAddMessage(rid, &m)); err != nil {
		return fmt.Errorf("store: write message: %w", err)
	}
	s.msgs[string(rid)] = append(s.msgs[string(rid)], m)
	return nil
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
	defer s.mu.Unlock()
	ms := s.msgs[string(rid)]
	if len(ms) == 0 || !bytes.Equal(ms[0].ID, msgID) {
		return false, nil
	}
	if err := s.mlog.append(encodeDelMessage(rid, msgID)); err != nil {
		return false, fmt.Errorf("store: write message deletion: %w", err)
	}
	s.popHead(string(rid))
	return true, nil
}

func (s *Store) popHead(rid string) {
	ms := s.msgs[rid]
	ms[0] = Message{}
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
	defer s.mu.Unlock()
	n := 0
	for rid, ms := range s.msgs {
		for len(ms) > 0 && !ms[0].Quota && ms[0].Timestamp < before {
			if err := s.mlog.append(encodeDelMessage([]byte(rid), ms[0].ID)); err != nil {
				return n, fmt.Errorf("store: write message expiry: %w", err)
			}
			s.popHead(rid)
			ms = s.msgs[rid]
			n++
		}
	}
	return n, nil
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
