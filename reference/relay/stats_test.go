package relay

import (
	"testing"
	"time"
)

// TestBucketOf: delays round up as upstream's updateTimeBuckets rounds
// them (Stats.hs): exact to 5 s, then to 5, 10, 30 and 60 s.
func TestBucketOf(t *testing.T) {
	for in, want := range map[int64]int64{0: 0, 5: 5, 6: 10, 30: 30, 31: 40, 60: 60, 61: 90, 180: 180, 181: 240, 3601: 3660} {
		if got := bucketOf(in); got != want {
			t.Errorf("bucketOf(%d) = %d, want %d", in, got, want)
		}
	}
}

// TestPeriodStats: distinct queues per UTC day, Monday week and month; a
// queue seen again costs no allocation; entries older than both the week
// and the month are dropped when a week starts.
func TestPeriodStats(t *testing.T) {
	var p periodStats
	at := time.Date(2026, 6, 30, 10, 0, 0, 0, time.UTC) // a Tuesday
	a, b := []byte("queue a"), []byte("queue b")
	p.update(a, at)
	p.update(b, at)
	if allocs := testing.AllocsPerRun(100, func() { p.update(a, at) }); allocs != 0 {
		t.Errorf("update of a queue counted today: %v allocations", allocs)
	}
	check := func(when time.Time, d, w, m int64) {
		t.Helper()
		if gd, gw, gm := p.get(when); gd != d || gw != w || gm != m {
			t.Errorf("%s: day %d week %d month %d, want %d %d %d", when.Format(time.DateOnly), gd, gw, gm, d, w, m)
		}
	}
	check(at, 2, 2, 2)
	at = at.Add(24 * time.Hour) // Wednesday, July 1st
	check(at, 0, 2, 0)
	p.update(a, at)
	check(at, 1, 2, 1)
	at = at.Add(5 * 24 * time.Hour) // Monday
	check(at, 0, 0, 1)
	if n := len(p.marks); n != 1 {
		t.Errorf("%d queues remembered, want 1 (b was last seen in June and last week)", n)
	}
	p.update(b, at)
	check(at, 1, 1, 2)
}
