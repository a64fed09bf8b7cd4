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
