package chat

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/smp"
)

// recorder drains a client's events (a client waits for its reader) and
// keeps them, so that a test can look for an event whenever it came.
type recorder struct {
	name string
	c    *Client
	mu   sync.Mutex
	evs  []Event
}

func record(t *testing.T, name string, c *Client) *recorder {
	r := &recorder{name: name, c: c}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case ev := <-c.Events():
				r.mu.Lock()
				r.evs = append(r.evs, ev)
				r.mu.Unlock()
			case <-done:
				return
			}
		}
	}()
	t.Cleanup(func() { close(done); <-stopped })
	return r
}

func (r *recorder) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.evs...)
}

// seen waits for an event of type T that ok accepts, among all the
// recorder has had and will have.
func seen[T Event](t *testing.T, r *recorder, ok func(T) bool) T {
	t.Helper()
	var found T
	eventually(t, r.name+": event", func() bool {
		for _, ev := range r.events() {
			if e, is := ev.(T); is && (ok == nil || ok(e)) {
				found = e
				return true
			}
		}
		return false
	})
	return found
}

// errorsSeen returns the Error events recorded.
func (r *recorder) errorsSeen() []error {
	var errs []error
	for _, ev := range r.events() {
		if e, ok := ev.(Error); ok {
			errs = append(errs, e.Err)
		}
	}
	return errs
}

// eventually polls f until it holds, failing the test after testWait.
func eventually(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gm is a test's member of a group: its client, recorder, user and group.
type gm struct {
	name  string
	dir   string
	srv   smp.Server
	c     *Client
	r     *recorder
	user  int64
	group int64
}

func newGM(t *testing.T, name string, srv smp.Server) *gm {
	t.Helper()
	m := &gm{name: name, dir: t.TempDir(), srv: srv}
	m.c = open(t, m.dir, srv)
	u, err := m.c.CreateUser(context.Background(), chatmsg.Profile{DisplayName: name, FullName: name + " full"})
	if err != nil {
		t.Fatal(err)
	}
	m.user = u.ID
	m.r = record(t, name, m.c)
	return m
}

// reopen closes the member's client and opens it again from its files.
func (m *gm) close(t *testing.T) {
	t.Helper()
	if err := m.c.Close(); err != nil {
		t.Fatal(err)
	}
}

func (m *gm) reopen(t *testing.T) {
	t.Helper()
	m.c = open(t, m.dir, m.srv)
	m.r = record(t, m.name, m.c)
}

// contacts connects a and b by a one-time invitation; it returns each
// one's contact row for the other.
func contacts(t *testing.T, a, b *gm) (aSide, bSide int64) {
	t.Helper()
	ctx := context.Background()
	ac, link, err := a.c.CreateInvitation(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := b.c.Connect(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	seen(t, a.r, func(e ContactConnected) bool { return e.Contact.ID == ac.ID })
	seen(t, b.r, func(e ContactConnected) bool { return e.Contact.ID == bc.ID })
	return ac.ID, bc.ID
}

// invite has host add its contact (a member to be) to its group and waits
// until the new member is connected with the host.
func invite(t *testing.T, host, m *gm, contact int64, role chatmsg.Role) {
	t.Helper()
	ctx := context.Background()
	if _, err := host.c.InviteToGroup(ctx, host.group, contact, role); err != nil {
		t.Fatal(err)
	}
	inv := seen(t, m.r, func(e GroupInvited) bool { return true })
	m.group = inv.Group.ID
	if err := m.c.JoinGroup(ctx, m.group); err != nil {
		t.Fatal(err)
	}
	seen(t, m.r, func(e MemberConnected) bool { return e.Member.Host })
}

func (m *gm) members(t *testing.T) []Member {
	t.Helper()
	ms, err := m.c.Members(context.Background(), m.group)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func (m *gm) memberNamed(t *testing.T, name string) Member {
	t.Helper()
	for _, x := range m.members(t) {
		if x.Profile != nil && x.Profile.DisplayName == name {
			return x
		}
	}
	t.Fatalf("%s: no member %s", m.name, name)
	return Member{}
}

// meshed waits until every one of ms is connected with all the others.
func meshed(t *testing.T, ms ...*gm) {
	t.Helper()
	ready := func(m *gm) bool {
		n := 0
		for _, x := range m.members(t) {
			if x.Status == MemberReady {
				n++
			}
		}
		return n == len(ms)-1
	}
	deadline := time.Now().Add(testWait)
	for _, m := range ms {
		for !ready(m) {
			if time.Now().After(deadline) {
				// Where everyone is, to tell a lost message from a slow one.
				for _, x := range ms {
					var st []string
					for _, y := range x.members(t) {
						name := "?"
						if y.Profile != nil {
							name = y.Profile.DisplayName
						}
						st = append(st, fmt.Sprintf("%s:%s", name, y.Status))
					}
					t.Logf("%s sees %v; errors %v", x.name, st, x.r.errorsSeen())
				}
				t.Fatalf("timed out waiting for %s connected to all", m.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// texts counts the member's group items by text.
func (m *gm) texts(t *testing.T) map[string]int {
	t.Helper()
	its, err := m.c.GroupItems(context.Background(), m.group, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, it := range its {
		n[it.Text]++
	}
	return n
}

// item waits for the member's item with the text and returns it.
func (m *gm) item(t *testing.T, text string) GroupItem {
	t.Helper()
	var found GroupItem
	eventually(t, m.name+": item "+text, func() bool {
		its, err := m.c.GroupItems(context.Background(), m.group, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range its {
			if it.Text == text {
				found = it
				return true
			}
		}
		return false
	})
	return found
}

// once waits until every member has the text exactly once (and never
// more, checked once all have it).
func once(t *testing.T, text string, ms ...*gm) {
	t.Helper()
	for _, m := range ms {
		m.item(t, text)
	}
	for _, m := range ms {
		if n := m.texts(t)[text]; n != 1 {
			t.Fatalf("%s has %q %d times", m.name, text, n)
		}
	}
}

func (m *gm) groupRow(t *testing.T) Group {
	t.Helper()
	var g Group
	err := m.c.db.View(context.Background(), func(tx *db.Tx) error {
		var err error
		g, err = loadGroup(tx, m.group)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func noErrors(t *testing.T, ms ...*gm) {
	t.Helper()
	for _, m := range ms {
		if errs := m.r.errorsSeen(); len(errs) > 0 {
			t.Errorf("%s: error events %v", m.name, errs)
		}
	}
}
