package store

import (
	"fmt"
	"time"
)

// Writing and group commit. Records are written (write(2)) under s.mu, in
// the order of the changes they record, each with the next sequence
// number; durability is waited for outside s.mu, so that callers writing
// at the same time share one fsync of each log.

// DeferSync makes the mutating methods return as soon as their records are
// handed to the kernel, without waiting for durability; the caller then
// calls Durable(Written()) before it acknowledges anything, outside its
// own locks. The relay does this so that no fsync runs under its lock.
func (s *Store) DeferSync() { s.deferred.Store(true) }

// Written is the sequence number of the last record handed to the kernel.
func (s *Store) Written() uint64 { return s.written.Load() }

// Durable returns once every record up to seq is durable under the sync
// policy: with SyncEachWrite it waits for (or runs) an fsync covering
// them, and returns its error if that fsync failed; with the other
// policies it returns at once.
func (s *Store) Durable(seq uint64) error {
	if s.opts.Sync != SyncEachWrite {
		return nil
	}
	return s.syncTo(seq)
}

// Settled reports whether Durable(seq) would return at once, without
// waiting: the relay's writer uses it to send what is ready before it
// waits for an fsync.
func (s *Store) Settled(seq uint64) bool {
	if s.opts.Sync != SyncEachWrite {
		return true
	}
	s.smu.Lock()
	defer s.smu.Unlock()
	return seq <= s.failTo || s.synced >= seq
}

func (s *Store) syncTo(seq uint64) error {
	s.smu.Lock()
	defer s.smu.Unlock()
	for {
		// A record covered by a failed fsync stays in doubt even if a
		// later fsync succeeds (the kernel may have dropped its pages);
		// the logs are rewritten from memory at the next write.
		if seq <= s.failTo {
			return s.failErr
		}
		if s.synced >= seq {
			return nil
		}
		// A compaction near its end holds records written after
		// holdSeq: they count as durable only once it has made its new
		// files and their names durable (compact.go).
		if s.syncing || s.hold && seq > s.holdSeq {
			s.cond.Wait()
			continue
		}
		s.syncing = true
		target := s.written.Load()
		if s.hold && target > s.holdSeq {
			target = s.holdSeq
		}
		s.smu.Unlock()
		s.syncMu.Lock()
		err := s.syncFiles()
		s.syncMu.Unlock()
		s.smu.Lock()
		s.syncing = false
		if err != nil {
			s.failTo, s.failErr = target, err
			s.rewrite.Store(true)
		} else if target > s.synced {
			s.synced = target
		}
		s.cond.Broadcast()
	}
}

// markInDoubt fails the waits for every record written so far and has the
// next write rewrite both logs from memory. Called with s.mu held.
func (s *Store) markInDoubt(err error) {
	s.smu.Lock()
	if s.seq > s.failTo {
		s.failTo, s.failErr = s.seq, err
	}
	s.cond.Broadcast()
	s.smu.Unlock()
	s.rewrite.Store(true)
}

// syncFiles fsyncs the logs with unsynced records. Called with syncMu.
// While a compaction's new files are not yet durable under the logs'
// names, the logs are the old ones (synclogs is switched when it ends).
func (s *Store) syncFiles() error {
	s.smu.Lock()
	logs := s.synclogs
	s.smu.Unlock()
	for _, l := range logs {
		w := l.written.Load()
		if w <= l.synced.Load() {
			continue
		}
		if err := l.f.Sync(); err != nil {
			s.writeErrors.Add(1)
			return fmt.Errorf("store: fsync %s: %w", l.name(), err)
		}
		l.synced.Store(w)
	}
	return nil
}

func (s *Store) syncLoop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.syncTo(s.written.Load())
		}
	}
}

// write appends one framed record to *which (s.qlog or s.mlog); called with s.mu held. It
// returns the record's sequence number.
func (s *Store) write(which **appendLog, payload []byte) (uint64, error) {
	if s.rewrite.Load() && s.job == nil && !s.closing {
		// In the background: until it is done, records go on to the
		// old logs, whose later fsyncs cover them.
		s.startJob(true, true)
	}
	l := *which
	s.frame = appendFrame(s.frame[:0], payload)
	if err := l.write(s.frame); err != nil {
		s.writeErrors.Add(1)
		return 0, err
	}
	if l == s.qlog {
		s.qrecords++
	}
	s.tail(l, s.frame)
	s.seq++
	l.written.Store(s.seq)
	s.written.Store(s.seq)
	return s.seq, nil
}

// wait is what a mutating method does after writing: wait for durability
// unless the caller does (DeferSync).
func (s *Store) wait(seq uint64) error {
	if seq == 0 || s.deferred.Load() {
		return nil
	}
	if err := s.Durable(seq); err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}
