package agent

import (
	"context"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/db"
)

// eventLog hands the persisted events to the application in order. An
// event is written in the transaction that caused it, before the message
// behind it is acknowledged to its relay; it leaves the database only after
// the application took it from the channel. A slow application therefore
// slows nothing and loses nothing: events wait on disk, not in memory.
type eventLog struct {
	db   *db.DB
	out  chan Event
	kick chan struct{}
	stop chan struct{}
	done chan struct{}

	mu        sync.Mutex
	errs      map[int64]error // the errors of events of this run, with their types
	delivered int64           // taken by the application up to here
	forgotten int64           // deleted up to here
}

func newEventLog(d *db.DB) *eventLog {
	l := &eventLog{db: d, out: make(chan Event), kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}), errs: map[int64]error{}}
	go l.run()
	return l
}

// add persists e in tx; after the commit, the dispatcher is told.
func (l *eventLog) add(tx *db.Tx, e Event) error {
	seq, err := addEvent(tx, e)
	if err != nil {
		return err
	}
	tx.AfterCommit(func() {
		if e.Err != nil {
			l.mu.Lock()
			l.errs[seq] = e.Err
			l.mu.Unlock()
		}
		l.notify()
	})
	return nil
}

func (l *eventLog) notify() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// close stops delivery and forgets what was delivered.
func (l *eventLog) close() {
	close(l.stop)
	<-l.done
	l.forget()
}

// trim deletes, in a transaction the agent commits anyway, the events
// the application took: no commit of its own per event.
func (l *eventLog) trim(tx *db.Tx) error {
	l.mu.Lock()
	upTo := l.delivered
	behind := upTo > l.forgotten
	l.mu.Unlock()
	if !behind {
		return nil
	}
	if _, err := tx.Exec(`DELETE FROM agent_events WHERE seq <= ?`, upTo); err != nil {
		return err
	}
	tx.AfterCommit(func() {
		l.mu.Lock()
		l.forgotten = max(l.forgotten, upTo)
		l.mu.Unlock()
	})
	return nil
}

type pendingEvent struct {
	seq int64
	b   []byte
}

func (l *eventLog) run() {
	defer close(l.done)
	ctx := context.Background()
	var last int64 // delivered up to here
	for {
		var batch []pendingEvent
		err := l.db.View(ctx, func(tx *db.Tx) error {
			rows, err := tx.Query(`SELECT seq, event FROM agent_events WHERE seq > ? ORDER BY seq LIMIT 64`, last)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var p pendingEvent
				if err := rows.Scan(&p.seq, &p.b); err != nil {
					return err
				}
				batch = append(batch, p)
			}
			return rows.Err()
		})
		if err == nil && len(batch) == 0 {
			select {
			case <-l.kick:
				continue
			case <-time.After(200 * time.Millisecond):
				// Idle: forget what was taken, if no commit did.
				l.forget()
			case <-l.stop:
				return
			}
			select {
			case <-l.kick:
				continue
			case <-l.stop:
				return
			}
		}
		if err != nil {
			select { // the database is failing: try again when told or later
			case <-l.kick:
			case <-l.stop:
				return
			}
			continue
		}
		for _, p := range batch {
			e, err := decodeEvent(p.b)
			if err == nil {
				l.mu.Lock()
				if typed := l.errs[p.seq]; typed != nil {
					e.Err = typed
				}
				for seq := range l.errs { // also any set after its event went
					if seq <= p.seq {
						delete(l.errs, seq)
					}
				}
				l.mu.Unlock()
				select {
				case l.out <- e:
				case <-l.stop:
					return
				}
			}
			l.mu.Lock()
			l.delivered = p.seq
			l.mu.Unlock()
			last = p.seq
		}
	}
}

// forget deletes the events the application took. If this fails they are
// delivered again after a restart: at least once, never lost.
func (l *eventLog) forget() {
	l.db.Update(context.Background(), l.trim)
}
