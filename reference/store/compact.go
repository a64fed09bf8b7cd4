package store

import (
	"fmt"
	"path/filepath"
)

// Online compaction. messages.log grows by a record per message stored
// and per message deleted; when it is larger than twice the framed size
// of the live messages (and than Options.CompactMin), it is rewritten from
// memory, under s.mu, before the write that crossed the bound returns. So
// after every write messages.log ≤ max(2·live, CompactMin) + one record,
// and delivered bodies stay on disk only until then. queues.log likewise
// holds at most max(2·(queues + services), CompactMin/256) records.

// msgRecordSize is the framed size of a message's record.
func msgRecordSize(rid string, m *Message) int64 {
	return frameHeader + 1 + 1 + int64(len(rid)) + 1 + int64(len(m.ID)) + 8 + 1 + 1 + 2 + int64(len(m.Body))
}

// maybeCompact runs after a write to messages.log; called with s.mu held.
func (s *Store) maybeCompact() {
	size := s.mlog.size
	if size <= 2*s.live || size <= s.opts.CompactMin || size < s.compactRetry {
		return
	}
	if err := s.compactMessages(); err != nil {
		// Not fatal: the log is intact, only larger. Retry after it has
		// grown by half again.
		s.writeErrors.Add(1)
		s.compactRetry = size + size/2
	}
}

// maybeCompactQueues runs after a write to queues.log; called with s.mu
// held. messages.log is compacted first: the queue deletions a compacted
// queues.log no longer holds are what explains the messages missing.
func (s *Store) maybeCompactQueues() {
	live := int64(len(s.queues) + len(s.services))
	if s.qrecords <= 2*live || s.qrecords <= s.opts.CompactMin/256 || s.qrecords < s.qRetry {
		return
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	err := s.swap(&s.mlog, s.snapshotMessages)
	if err == nil {
		err = s.swap(&s.qlog, s.snapshotQueues)
	}
	if err != nil {
		s.writeErrors.Add(1)
		s.qRetry = s.qrecords + s.qrecords/2
	}
}

// compactMessages replaces messages.log by a snapshot of the live
// messages. Called with s.mu held; it takes syncMu so that no fsync runs
// on the old file while it is swapped.
func (s *Store) compactMessages() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	return s.swap(&s.mlog, s.snapshotMessages)
}

// swap writes a snapshot and reopens *l on it. The snapshot holds every
// change made in memory, durable, so all the log's records count as
// synced.
func (s *Store) swap(l **appendLog, snapshot func() error) error {
	old := *l
	if err := snapshot(); err != nil {
		return fmt.Errorf("store: compact %s: %w", old.name(), err)
	}
	nl, err := openAppendLog(s.fs, old.path)
	if err != nil {
		// The snapshot is in place, but the old descriptor now writes
		// to an unlinked file: what was written through it since is in
		// doubt, and the next write rewrites the logs.
		err = fmt.Errorf("store: reopen %s: %w", old.name(), err)
		s.markInDoubt(err)
		return err
	}
	old.close()
	nl.written.Store(s.seq)
	nl.synced.Store(s.seq)
	*l = nl
	if l == &s.qlog {
		s.qrecords = int64(len(s.queues) + len(s.services))
		s.qRetry = 0
	}
	s.compactions.Add(1)
	s.compactRetry = 0
	return nil
}

// rewriteLogs rewrites both logs from memory after a failed fsync, whose
// records the kernel may have dropped. Messages first, as at Open.
func (s *Store) rewriteLogs() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if err := s.swap(&s.mlog, s.snapshotMessages); err != nil {
		s.writeErrors.Add(1)
		return err
	}
	if err := s.swap(&s.qlog, s.snapshotQueues); err != nil {
		s.writeErrors.Add(1)
		return err
	}
	s.rewrite.Store(false)
	return nil
}

// Compact rewrites messages.log from memory now.
func (s *Store) Compact() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.compactMessages()
}

func (l *appendLog) name() string { return filepath.Base(l.path) }

// Save rewrites both logs from memory now, each one fsynced and renamed
// into place (and its directory fsynced) before Save returns: everything
// written so far is durable whatever the sync policy, and messages.log
// holds only live messages. The control port's "save" runs it.
func (s *Store) Save() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rewriteLogs()
}
