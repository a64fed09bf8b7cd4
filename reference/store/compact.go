package store

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
)

// Online compaction (docs/store.md). messages.log grows by a record per
// message stored and per message deleted; when it is larger than twice the
// framed size of the live messages (and than Options.CompactMin), a write
// starts a compaction job that rewrites it from memory. queues.log likewise
// when it holds more than max(2·(queues + services), CompactMin/256)
// records; that job rewrites both logs (messages first, as at Open). After a
// failed fsync the next write starts a job that rewrites both logs, since
// the kernel may have dropped the pages the fsync covered.
//
// A job never writes or fsyncs under s.mu, so it never stalls the store's
// callers (nor the relay, which calls the store under its own lock). One
// job runs at a time, in its own goroutine:
//
//  1. start (s.mu): take the live state — clones of the maps, that is of
//     slice headers and pointers; nothing is encoded — and from now on
//     keep a copy of every frame written to the logs the job rewrites
//     (the tail);
//  2. write the snapshot to <log>.tmp and fsync it (no lock);
//  3. catch up (s.mu, short): append the tail so far to the new file and
//     hold acknowledgements: no record written from now on counts as
//     durable until the job ends (see syncTo); then fsync the new file
//     (no lock);
//  4. switch (s.mu, short): append the rest of the tail, rename the new
//     file over the log (messages first) and make it the log that writes
//     go to;
//  5. finish (no lock): fsync the new file and the directory, then
//     release the hold.
//
// Why the hold: a record acknowledged through an fsync of the old log must
// be durable in the new file before the rename can reach the disk, and a
// rename may reach it before the directory's fsync. Records acknowledged
// before step 3 were fsynced into the new file in step 3; the others wait
// for step 5. Crash at any point: the name holds the old log (with every
// record fsynced through it) or the new one (with every record
// acknowledged).
type compactJob struct {
	queues       bool // queues.log too (messages.log always)
	rewrite      bool // started by a failed fsync
	mpath, qpath string
	done         chan struct{}
	err          error

	// The snapshot, taken at step 1. Stored messages and queues are
	// never changed in place, so sharing them is safe; popHead's
	// clearing of delivered messages is put off to the job's end.
	msgs   map[string][]Message
	queue  map[string]*Queue
	svcs   map[string]*Service
	qcount int64 // records of the queues snapshot
	zero   []*Message

	// m and q are the new files, opened for appending; path is the log's
	// name, tmp the name they are written under until the switch.
	m, q *appendLog
	// Frames written to the old logs since the snapshot and not yet in
	// the new files; qtailN counts queues.log records since the snapshot.
	mtail, qtail []byte
	qtailN       int64
	switched     bool          // step 4 done: writes go to the new files
	moved        []*appendLog  // the new files switched to
	view         [2]*appendLog // the logs after the switch, for the group commit
	old          []*appendLog
}

// msgRecordSize is the framed size of a message's record.
func msgRecordSize(rid string, m *Message) int64 {
	return frameHeader + 1 + 1 + int64(len(rid)) + 1 + int64(len(m.ID)) + 8 + 1 + 1 + 2 + int64(len(m.Body))
}

func tmpName(l *appendLog) string { return l.path + ".tmp" }

// maybeCompact runs after a write to messages.log; called with s.mu held.
func (s *Store) maybeCompact() {
	size := s.mlog.size
	if size <= 2*s.live || size <= s.opts.CompactMin || size < s.compactRetry || s.job != nil || s.closing {
		return
	}
	s.startJob(false, false)
}

// maybeCompactQueues runs after a write to queues.log; called with s.mu
// held. The job rewrites messages.log too, from the same snapshot: the
// queue deletions a compacted queues.log no longer holds are what explains
// the messages missing from an old messages.log.
func (s *Store) maybeCompactQueues() {
	live := int64(len(s.queues) + len(s.services))
	if s.qrecords <= 2*live || s.qrecords <= s.opts.CompactMin/256 || s.qrecords < s.qRetry || s.job != nil || s.closing {
		return
	}
	s.startJob(true, false)
}

// startJob is step 1; called with s.mu held and no job running.
func (s *Store) startJob(queues, rewrite bool) *compactJob {
	j := &compactJob{queues: queues || rewrite, rewrite: rewrite, done: make(chan struct{}),
		mpath: s.mlog.path, qpath: s.qlog.path}
	j.msgs = maps.Clone(s.msgs)
	if j.queues {
		j.queue, j.svcs = maps.Clone(s.queues), maps.Clone(s.services)
		j.qcount = int64(len(j.queue) + len(j.svcs))
	}
	if rewrite {
		// Cleared now: an fsync failing from here on sets it again.
		s.rewrite.Store(false)
	}
	s.job = j
	go s.runJob(j)
	return j
}

// tail records a frame just written to l, if the running job rewrites l
// and has not switched yet. Called with s.mu held.
func (s *Store) tail(l *appendLog, frame []byte) {
	j := s.job
	if j == nil || j.switched {
		return
	}
	switch {
	case l == s.mlog:
		j.mtail = append(j.mtail, frame...)
	case l == s.qlog && j.queues:
		j.qtail = append(j.qtail, frame...)
		j.qtailN++
	}
}

func (s *Store) runJob(j *compactJob) {
	err := s.writeNew(j)
	if err == nil {
		err = s.catchUp(j)
	}
	if err == nil {
		err = s.switchLogs(j)
	}
	var ferr error
	if j.switched {
		// Also when queues.log failed to switch after messages.log
		// did: what goes to the new messages.log needs its name
		// durable.
		ferr = s.finish(j)
	}
	s.endJob(j, err, ferr)
}

// writeNew is step 2: the snapshots, written and fsynced without a lock.
func (s *Store) writeNew(j *compactJob) error {
	var err error
	j.m, err = s.newLog(j.mpath, func(emit func([]byte) error) error {
		for rid, ms := range j.msgs {
			for i := range ms {
				if err := emit(encodeAddMessage([]byte(rid), &ms[i])); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil || !j.queues {
		return err
	}
	j.q, err = s.newLog(j.qpath, func(emit func([]byte) error) error {
		for _, sv := range j.svcs {
			if err := emit(encodeService(sv)); err != nil {
				return err
			}
		}
		for _, q := range j.queue {
			if err := emit(encodeQueue(q)); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

// newLog writes a log's header and the frames each gives to path.tmp,
// fsyncs it and returns it open for appending, named path.
func (s *Store) newLog(path string, each func(emit func([]byte) error) error) (*appendLog, error) {
	f, err := s.fs.OpenFile(path+".tmp", os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: compact %s: %w", filepath.Base(path), err)
	}
	l := &appendLog{fs: s.fs, path: path, f: f}
	buf := append(make([]byte, 0, 256<<10+frameHeader), fileMagic...)
	err = each(func(p []byte) error {
		buf = appendFrame(buf, p)
		if len(buf) < 256<<10 {
			return nil
		}
		err := l.write(buf)
		buf = buf[:0]
		return err
	})
	if err == nil && len(buf) > 0 {
		err = l.write(buf)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		s.fs.Remove(path + ".tmp")
		return nil, fmt.Errorf("store: compact %s: %w", filepath.Base(path), err)
	}
	return l, nil
}

// moveTails appends the tails to the new files; called with s.mu held.
func (j *compactJob) moveTails() error {
	if len(j.mtail) > 0 {
		if err := j.m.write(j.mtail); err != nil {
			return fmt.Errorf("store: compact: %w", err)
		}
		j.mtail = nil
	}
	if len(j.qtail) > 0 {
		if err := j.q.write(j.qtail); err != nil {
			return fmt.Errorf("store: compact: %w", err)
		}
		j.qtail = nil
	}
	return nil
}

// catchUp is step 3: most of the tail, written under s.mu but fsynced
// outside it, and the hold from here on.
func (s *Store) catchUp(j *compactJob) error {
	s.mu.Lock()
	err := j.moveTails()
	if err == nil {
		s.smu.Lock()
		s.hold, s.holdSeq = true, s.seq
		s.smu.Unlock()
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	for _, l := range j.logs() {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("store: compact %s: fsync: %w", l.name(), err)
		}
	}
	return nil
}

func (j *compactJob) logs() []*appendLog {
	if j.q != nil {
		return []*appendLog{j.m, j.q}
	}
	return []*appendLog{j.m}
}

// switchLogs is step 4: the rest of the tail, the renames (messages.log
// first) and the switch, all under s.mu; no fsync.
func (s *Store) switchLogs(j *compactJob) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := j.moveTails(); err != nil {
		return err
	}
	for _, l := range j.logs() {
		if err := s.fs.Rename(tmpName(l), l.path); err != nil {
			// queues.log failed after messages.log was switched:
			// the old queues.log with the new messages.log is
			// consistent, as at Open.
			return fmt.Errorf("store: compact %s: %w", l.name(), err)
		}
		l.written.Store(s.seq)
		j.moved = append(j.moved, l)
		if l == j.m {
			j.old = append(j.old, s.mlog)
			s.mlog = l
			s.compactRetry = 0
		} else {
			j.old = append(j.old, s.qlog)
			s.qlog = l
			s.qrecords = j.qcount + j.qtailN
			s.qRetry = 0
		}
		j.switched = true
		j.view = [2]*appendLog{s.qlog, s.mlog}
	}
	s.compactions.Add(1)
	return nil
}

// finish is step 5: the new files and the directory fsynced without a
// lock; then the group commit fsyncs the new files and the hold ends.
func (s *Store) finish(j *compactJob) error {
	var ws []uint64
	for _, l := range j.moved {
		ws = append(ws, l.written.Load())
	}
	for _, l := range j.moved {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("store: compact %s: fsync: %w", l.name(), err)
		}
	}
	if err := syncDir(s.fs, s.dir); err != nil {
		return fmt.Errorf("store: compact: fsync %s: %w", s.dir, err)
	}
	for i, l := range j.moved {
		l.synced.Store(ws[i])
	}
	return nil
}

// endJob ends a job, whether it succeeded or not: the group commit moves
// to the logs now written to, the hold ends, the old files are closed and
// a failure is counted (the logs are intact, only larger: a compaction is
// retried once the log has grown by half, a rewrite at the next write).
// It never waits for syncMu (an fsync in flight) while holding s.mu.
func (s *Store) endJob(j *compactJob, err, ferr error) {
	if ferr != nil {
		// Records written to the new files since the switch may not
		// survive a power loss: fail their waits (before the hold
		// ends, so that no later fsync acknowledges them) and rewrite
		// the logs from memory.
		s.mu.Lock()
		s.markInDoubt(ferr)
		s.mu.Unlock()
		err = errors.Join(err, ferr)
	}
	// The group commit must not fsync a file being closed.
	s.syncMu.Lock()
	s.smu.Lock()
	if j.switched {
		s.synclogs = j.view
	}
	s.hold = false
	s.cond.Broadcast()
	s.smu.Unlock()
	for _, l := range j.old {
		l.close()
	}
	s.syncMu.Unlock()

	s.mu.Lock()
	for _, p := range j.zero {
		*p = Message{}
	}
	if err != nil {
		s.writeErrors.Add(1)
		if j.rewrite {
			s.rewrite.Store(true)
		}
		if s.mlog != j.m {
			s.compactRetry = s.mlog.size + s.mlog.size/2
			if j.m != nil {
				j.m.close()
				s.fs.Remove(tmpName(j.m))
			}
		}
		if j.queues && s.qlog != j.q {
			s.qRetry = s.qrecords + s.qrecords/2
			if j.q != nil {
				j.q.close()
				s.fs.Remove(tmpName(j.q))
			}
		}
	}
	s.job = nil
	j.err = err
	s.mu.Unlock()
	close(j.done)
}

// Compact rewrites messages.log from memory now, after the job running,
// if any, and returns when it is done.
func (s *Store) Compact() error { return s.compactNow(false) }

func (l *appendLog) name() string { return filepath.Base(l.path) }

// Save rewrites both logs from memory now, each one fsynced and renamed
// into place (and its directory fsynced) before Save returns: everything
// written so far is durable whatever the sync policy, and messages.log
// holds only live messages. The control port's "save" runs it.
func (s *Store) Save() error { return s.compactNow(true) }

// compactNow waits for the job running, if any (its snapshot may be older
// than the call), then runs one of messages.log, and of queues.log too if
// queues, and returns its result.
func (s *Store) compactNow(queues bool) error {
	for {
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			return errors.New("store: closed")
		}
		if j := s.job; j != nil {
			s.mu.Unlock()
			<-j.done
			continue
		}
		j := s.startJob(queues, false)
		s.mu.Unlock()
		<-j.done
		return j.err
	}
}
