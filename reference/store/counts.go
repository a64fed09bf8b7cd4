package store

// NotifierCount is the number of queues with notifier credentials (the
// relay's simplex_smp_queues_notify_total2 and loaded_queues_ntf_count).
func (s *Store) NotifierCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byNotifier)
}
