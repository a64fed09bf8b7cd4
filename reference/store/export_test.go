package store

import "hash/crc32"

// Exports for the external tests.

// CRC32C is the checksum of the log frames.
func CRC32C(p []byte) uint32 { return crc32.Checksum(p, castagnoli) }

// AllMessages returns copies of a queue's messages, oldest first.
func (s *Store) AllMessages(rid []byte) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.msgs[string(rid)] {
		out = append(out, cloneMessage(m))
	}
	return out
}

// WaitCompaction returns once no online compaction is running. Tests that
// cut a MemFS's power call it before Restart: in a real crash the process
// dies with its compaction, here the abandoned store's job would go on
// renaming files under the next store.
func (s *Store) WaitCompaction() {
	s.mu.Lock()
	j := s.job
	s.mu.Unlock()
	if j != nil {
		<-j.done
	}
}

// Compacting reports whether an online compaction is running.
func (s *Store) Compacting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.job != nil
}

// CompactionDone is closed when the online compaction running now ends
// (already closed when none runs).
func (s *Store) CompactionDone() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.job == nil {
		c := make(chan struct{})
		close(c)
		return c
	}
	return s.job.done
}
