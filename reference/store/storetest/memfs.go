// Package storetest holds file systems for testing package store: MemFS,
// which loses every write not made durable when it "loses power", and
// FaultFS, which fails writes as a full disk does. They are faults for
// tests; no program uses them.
package storetest

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/smpkit/smpkit/reference/store"
)

// ErrCrashed is returned by every operation of a MemFS between a crash and
// Restart, and by files opened before the crash.
var ErrCrashed = errors.New("storetest: power lost")

// MemFS is an in-memory file system with strict durability, in the way of
// pebble's strict MemFS: at a crash, a file keeps only the contents it had
// at its last Sync, and a directory only the entries (creates, renames,
// links, removals) it had at its last Sync. Directories themselves are
// durable once made.
type MemFS struct {
	mu      sync.Mutex
	gen     int // incremented by each crash; files of older generations are dead
	files   map[string]*inode
	durable map[string]*inode
	dirs    map[string]bool
	locks   map[string]bool
	// countdown of operations until a crash; <0 when none is planned.
	crashIn int
	crashed bool
	// Torn, if set, decides what a crash leaves of a file's unsynced tail
	// instead of dropping it: it returns the bytes to keep (a prefix of
	// tail, zeros, anything).
	Torn func(tail []byte) []byte
	// SyncDelay is how long an fsync of a file takes, as on a disk.
	SyncDelay time.Duration
	// SyncHook, if set, is called before each fsync of a file with the
	// file's name at that moment (after a rename, the new one; with hard
	// links, the first in order), outside the file system's lock: a test
	// can hold an fsync there (a slow disk, on cue) while others go on.
	SyncHook func(name string)
	ops      int
	syncs    int
}

type inode struct {
	data, synced []byte
}

// NewMemFS returns an empty MemFS.
func NewMemFS() *MemFS {
	return &MemFS{files: map[string]*inode{}, durable: map[string]*inode{}, dirs: map[string]bool{"/": true, ".": true}, locks: map[string]bool{}, crashIn: -1}
}

// CrashAfter makes the n-th next mutating operation (write, sync, rename,
// link, remove, truncate, create) fail as the power goes: the state becomes
// what was durable, and every operation fails with ErrCrashed until
// Restart. n = 0 crashes now.
func (m *MemFS) CrashAfter(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.crashIn = n
	if n == 0 {
		m.crashLocked()
	}
}

// Crashed reports whether the power is off.
func (m *MemFS) Crashed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.crashed
}

// Ops is the number of mutating operations so far.
func (m *MemFS) Ops() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ops
}

// Syncs is the number of fsyncs of files so far.
func (m *MemFS) Syncs() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.syncs
}

// Restart powers the file system on again after a crash.
func (m *MemFS) Restart() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.crashed = false
	m.crashIn = -1
}

func (m *MemFS) crashLocked() {
	m.crashed = true
	m.crashIn = -1
	m.gen++
	m.locks = map[string]bool{}
	files := map[string]*inode{}
	seen := map[*inode]bool{}
	for name, ino := range m.durable {
		if !seen[ino] {
			seen[ino] = true
			data := bytes.Clone(ino.synced)
			if m.Torn != nil && len(ino.data) > len(ino.synced) && bytes.HasPrefix(ino.data, ino.synced) {
				data = append(data, m.Torn(bytes.Clone(ino.data[len(ino.synced):]))...)
			}
			ino.data = data
			ino.synced = bytes.Clone(data)
		}
		files[name] = ino
	}
	m.files = files
}

// step counts a mutating operation and crashes when the countdown ends.
// Called with m.mu held.
func (m *MemFS) step() error {
	if m.crashed {
		return ErrCrashed
	}
	m.ops++
	if m.crashIn > 0 {
		m.crashIn--
		if m.crashIn == 0 {
			m.crashLocked()
			return ErrCrashed
		}
	}
	return nil
}

func clean(name string) string { return filepath.Clean(name) }

func (m *MemFS) OpenFile(name string, flag int, perm fs.FileMode) (store.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = clean(name)
	if m.crashed {
		return nil, ErrCrashed
	}
	if m.dirs[name] {
		return &memFile{m: m, gen: m.gen, dir: name}, nil
	}
	ino := m.files[name]
	if ino == nil {
		if flag&os.O_CREATE == 0 {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		if !m.dirs[filepath.Dir(name)] {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		if err := m.step(); err != nil {
			return nil, err
		}
		ino = &inode{}
		m.files[name] = ino
	} else if flag&os.O_TRUNC != 0 {
		if err := m.step(); err != nil {
			return nil, err
		}
		ino.data = nil
	}
	return &memFile{m: m, gen: m.gen, ino: ino, name: name, appendOnly: flag&os.O_APPEND != 0}, nil
}

func (m *MemFS) Rename(o, n string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, n = clean(o), clean(n)
	if err := m.step(); err != nil {
		return err
	}
	ino := m.files[o]
	if ino == nil {
		return &fs.PathError{Op: "rename", Path: o, Err: fs.ErrNotExist}
	}
	m.files[n] = ino
	delete(m.files, o)
	return nil
}

func (m *MemFS) Link(o, n string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o, n = clean(o), clean(n)
	if err := m.step(); err != nil {
		return err
	}
	ino := m.files[o]
	if ino == nil {
		return &fs.PathError{Op: "link", Path: o, Err: fs.ErrNotExist}
	}
	if m.files[n] != nil {
		return &fs.PathError{Op: "link", Path: n, Err: fs.ErrExist}
	}
	m.files[n] = ino
	return nil
}

func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = clean(name)
	if err := m.step(); err != nil {
		return err
	}
	if m.files[name] == nil {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	delete(m.files, name)
	return nil
}

func (m *MemFS) MkdirAll(p string, _ fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.crashed {
		return ErrCrashed
	}
	for p = clean(p); !m.dirs[p]; p = filepath.Dir(p) {
		m.dirs[p] = true
	}
	return nil
}

func (m *MemFS) ReadDir(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.crashed {
		return nil, ErrCrashed
	}
	dir = clean(dir)
	var names []string
	for name := range m.files {
		if filepath.Dir(name) == dir {
			names = append(names, filepath.Base(name))
		}
	}
	sort.Strings(names)
	return names, nil
}

func (m *MemFS) Lock(name string) (store.File, error) {
	f, err := m.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	name = clean(name)
	if m.locks[name] {
		return nil, store.ErrLocked
	}
	m.locks[name] = true
	mf := f.(*memFile)
	mf.lock = true
	return mf, nil
}

// nameOf returns the first name an inode has ("" for none).
func (m *MemFS) nameOf(ino *inode) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	for name, i := range m.files {
		if i == ino {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

// ReadFile returns a file's current contents, for tests.
func (m *MemFS) ReadFile(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ino := m.files[clean(name)]
	if ino == nil {
		return nil, fs.ErrNotExist
	}
	return bytes.Clone(ino.data), nil
}

// WriteFile replaces a file's contents, durably, for tests.
func (m *MemFS) WriteFile(name string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	name = clean(name)
	for d := filepath.Dir(name); !m.dirs[d]; d = filepath.Dir(d) {
		m.dirs[d] = true
	}
	ino := &inode{data: bytes.Clone(b), synced: bytes.Clone(b)}
	m.files[name], m.durable[name] = ino, ino
}

type memFile struct {
	m          *MemFS
	gen        int
	ino        *inode // nil for a directory
	dir        string
	name       string
	pos        int64
	appendOnly bool
	lock       bool
	closed     bool
}

func (f *memFile) live() error {
	if f.m.crashed || f.gen != f.m.gen {
		return ErrCrashed
	}
	if f.closed {
		return fs.ErrClosed
	}
	return nil
}

func (f *memFile) Read(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.live(); err != nil {
		return 0, err
	}
	if f.pos >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[f.pos:])
	f.pos += int64(n)
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.live(); err != nil {
		return 0, err
	}
	if off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.live(); err != nil {
		return 0, err
	}
	if err := f.m.step(); err != nil {
		return 0, err
	}
	if f.appendOnly {
		f.pos = int64(len(f.ino.data))
	}
	for int64(len(f.ino.data)) < f.pos {
		f.ino.data = append(f.ino.data, 0)
	}
	n := copy(f.ino.data[f.pos:], p)
	f.ino.data = append(f.ino.data, p[n:]...)
	f.pos += int64(len(p))
	return len(p), nil
}

func (f *memFile) Sync() error {
	if d := f.m.SyncDelay; d > 0 && f.ino != nil {
		time.Sleep(d)
	}
	if h := f.m.SyncHook; h != nil && f.ino != nil {
		h(f.m.nameOf(f.ino))
	}
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.live(); err != nil {
		return err
	}
	if err := f.m.step(); err != nil {
		return err
	}
	if f.ino == nil {
		for name, ino := range f.m.files {
			if filepath.Dir(name) == f.dir {
				f.m.durable[name] = ino
			}
		}
		for name := range f.m.durable {
			if filepath.Dir(name) == f.dir && f.m.files[name] == nil {
				delete(f.m.durable, name)
			}
		}
		return nil
	}
	f.ino.synced = bytes.Clone(f.ino.data)
	f.m.syncs++
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.live(); err != nil {
		return err
	}
	if err := f.m.step(); err != nil {
		return err
	}
	if size < int64(len(f.ino.data)) {
		f.ino.data = f.ino.data[:size:size]
	}
	for int64(len(f.ino.data)) < size {
		f.ino.data = append(f.ino.data, 0)
	}
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.live(); err != nil {
		return 0, err
	}
	return int64(len(f.ino.data)), nil
}

func (f *memFile) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.lock && f.gen == f.m.gen {
		delete(f.m.locks, f.name)
	}
	f.closed = true
	return nil
}

// TornTail returns a MemFS.Torn function that keeps a random prefix of the
// unsynced tail, or as many zero bytes (as a file system that extended the
// file but never wrote its data leaves).
func TornTail(r *rand.Rand) func([]byte) []byte {
	return func(tail []byte) []byte {
		n := r.IntN(len(tail) + 1)
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return tail[:n]
		default:
			return make([]byte, n)
		}
	}
}
