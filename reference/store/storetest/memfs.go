// Package storetest holds file systems for testing package store: MemFS,
// which loses every write and every name not made durable by an fsync
// (of the file, of the directory holding the name) when it "loses power",
// and FaultFS, which fails writes as a full disk does. They are faults for
// tests; no program uses them.
package storetest

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/smpkit/smpkit/reference/store"
)

// ErrCrashed is returned by every operation of a MemFS between a crash and
// Restart, and by files opened before the crash.
var ErrCrashed = errors.New("storetest: power lost")

// MemFS is an in-memory file system with strict durability, in the way of
// pebble's strict MemFS (vfs.NewStrictMem). A crash keeps only what was made
// durable:
//
//   - a file's contents revert to what its last Sync made durable;
//   - a directory's entries (files and directories created, renamed in or
//     out, linked, removed) revert to what they were at the directory's
//     last Sync. Each directory counts alone: a rename from a to b is a
//     removal from a and an addition to b, and a crash after syncing only
//     one of them leaves the file in both or in neither;
//   - a directory (MkdirAll's too) survives only if its parent was synced
//     after it was made, and its parent survives, up to the root, which
//     always does. Whatever a lost directory held is lost with it.
//
// Hard links share one inode: the data is durable after a Sync through
// any name, each name after a Sync of its directory.
type MemFS struct {
	mu   sync.Mutex
	gen  int // incremented by each crash; files of older generations are dead
	root *node
	// locks holds the inodes of locked files.
	locks map[*node]bool
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

// node is a file (data) or a directory (children). The synced fields are
// what a crash reverts to.
type node struct {
	isDir          bool
	data, synced   []byte
	children       map[string]*node
	syncedChildren map[string]*node
}

func newDir() *node {
	return &node{isDir: true, children: map[string]*node{}, syncedChildren: map[string]*node{}}
}

// NewMemFS returns an empty MemFS.
func NewMemFS() *MemFS {
	return &MemFS{root: newDir(), locks: map[*node]bool{}, crashIn: -1}
}

// CrashAfter makes the n-th next mutating operation (write, sync, rename,
// link, remove, truncate, create, mkdir) fail as the power goes: the state
// becomes what was durable, and every operation fails with ErrCrashed
// until Restart. n = 0 crashes now.
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
	m.locks = map[*node]bool{}
	m.revert(m.root, map[*node]bool{})
}

// revert sets n and everything reachable from it through durable entries
// back to its durable state; seen keeps a hard-linked file from being
// reverted (and torn) twice.
func (m *MemFS) revert(n *node, seen map[*node]bool) {
	if seen[n] {
		return
	}
	seen[n] = true
	if n.isDir {
		n.children = maps.Clone(n.syncedChildren)
		for _, c := range n.children {
			m.revert(c, seen)
		}
		return
	}
	data := bytes.Clone(n.synced)
	if m.Torn != nil && len(n.data) > len(n.synced) && bytes.HasPrefix(n.data, n.synced) {
		data = append(data, m.Torn(bytes.Clone(n.data[len(n.synced):]))...)
	}
	n.data = data
	n.synced = bytes.Clone(data)
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

// errIsDir is returned for reading or writing a directory as a file.
var errIsDir = errors.New("storetest: is a directory")

// parts splits a path into its names below the root; "/a/b" and "a/b" are
// the same file.
func parts(name string) []string {
	name = strings.TrimLeft(filepath.ToSlash(filepath.Clean(name)), "/")
	if name == "" || name == "." {
		return nil
	}
	return strings.Split(name, "/")
}

// lookup returns the node at name, or nil.
func (m *MemFS) lookup(name string) *node {
	n := m.root
	for _, p := range parts(name) {
		if !n.isDir {
			return nil
		}
		if n = n.children[p]; n == nil {
			return nil
		}
	}
	return n
}

// parent returns the directory that holds name and name's last element;
// nil if that directory does not exist.
func (m *MemFS) parent(name string) (*node, string) {
	ps := parts(name)
	if len(ps) == 0 {
		return nil, ""
	}
	d := m.lookup(strings.Join(ps[:len(ps)-1], "/"))
	if d == nil || !d.isDir {
		return nil, ""
	}
	return d, ps[len(ps)-1]
}

func (m *MemFS) OpenFile(name string, flag int, perm fs.FileMode) (store.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.crashed {
		return nil, ErrCrashed
	}
	return m.openLocked(name, flag)
}

func (m *MemFS) openLocked(name string, flag int) (*memFile, error) {
	n := m.lookup(name)
	if n != nil && n.isDir {
		return &memFile{m: m, gen: m.gen, n: n, name: clean(name)}, nil
	}
	if n == nil {
		if flag&os.O_CREATE == 0 {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		d, base := m.parent(name)
		if d == nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		if err := m.step(); err != nil {
			return nil, err
		}
		n = &node{}
		d.children[base] = n
	} else if flag&os.O_TRUNC != 0 {
		if err := m.step(); err != nil {
			return nil, err
		}
		n.data = nil
	}
	return &memFile{m: m, gen: m.gen, n: n, name: clean(name), appendOnly: flag&os.O_APPEND != 0}, nil
}

func (m *MemFS) Rename(o, n string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step(); err != nil {
		return err
	}
	od, obase := m.parent(o)
	if od == nil || od.children[obase] == nil {
		return &fs.PathError{Op: "rename", Path: o, Err: fs.ErrNotExist}
	}
	nd, nbase := m.parent(n)
	if nd == nil {
		return &fs.PathError{Op: "rename", Path: n, Err: fs.ErrNotExist}
	}
	if t := nd.children[nbase]; t != nil && t.isDir {
		return &fs.PathError{Op: "rename", Path: n, Err: fs.ErrExist}
	}
	ino := od.children[obase]
	delete(od.children, obase)
	nd.children[nbase] = ino
	return nil
}

func (m *MemFS) Link(o, n string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step(); err != nil {
		return err
	}
	ino := m.lookup(o)
	if ino == nil || ino.isDir {
		return &fs.PathError{Op: "link", Path: o, Err: fs.ErrNotExist}
	}
	nd, nbase := m.parent(n)
	if nd == nil {
		return &fs.PathError{Op: "link", Path: n, Err: fs.ErrNotExist}
	}
	if nd.children[nbase] != nil {
		return &fs.PathError{Op: "link", Path: n, Err: fs.ErrExist}
	}
	nd.children[nbase] = ino
	return nil
}

// Remove removes a file or an empty directory.
func (m *MemFS) Remove(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if err := m.step(); err != nil {
		return err
	}
	d, base := m.parent(name)
	if d == nil || d.children[base] == nil {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if c := d.children[base]; c.isDir && len(c.children) > 0 {
		return &fs.PathError{Op: "remove", Path: name, Err: syscall.ENOTEMPTY}
	}
	delete(d.children, base)
	return nil
}

// MkdirAll makes the directories of p that are missing, one operation for
// each; each is durable only once its parent is synced.
func (m *MemFS) MkdirAll(p string, _ fs.FileMode) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.crashed {
		return ErrCrashed
	}
	d := m.root
	for _, name := range parts(p) {
		c := d.children[name]
		if c == nil {
			if err := m.step(); err != nil {
				return err
			}
			c = newDir()
			d.children[name] = c
		} else if !c.isDir {
			return &fs.PathError{Op: "mkdir", Path: p, Err: syscall.ENOTDIR}
		}
		d = c
	}
	return nil
}

// ReadDir returns the names of the files and directories in dir.
func (m *MemFS) ReadDir(dir string) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.crashed {
		return nil, ErrCrashed
	}
	d := m.lookup(dir)
	if d == nil || !d.isDir {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: fs.ErrNotExist}
	}
	names := slices.Sorted(maps.Keys(d.children))
	return names, nil
}

func (m *MemFS) Lock(name string) (store.File, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.crashed {
		return nil, ErrCrashed
	}
	f, err := m.openLocked(name, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, err
	}
	if m.locks[f.n] {
		return nil, store.ErrLocked
	}
	m.locks[f.n] = true
	f.lock = true
	return f, nil
}

// nameOf returns the first name an inode has ("" for none).
func (m *MemFS) nameOf(ino *node) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var names []string
	var walk func(dir string, d *node)
	walk = func(dir string, d *node) {
		for name, c := range d.children {
			if c == ino {
				names = append(names, dir+name)
			}
			if c.isDir {
				walk(dir+name+"/", c)
			}
		}
	}
	walk("/", m.root)
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
	n := m.lookup(name)
	if n == nil || n.isDir {
		return nil, fs.ErrNotExist
	}
	return bytes.Clone(n.data), nil
}

// WriteFile replaces a file's contents, durably (with its directories),
// for tests.
func (m *MemFS) WriteFile(name string, b []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := parts(name)
	d := m.root
	for _, p := range ps[:len(ps)-1] {
		c := d.children[p]
		if c == nil {
			c = newDir()
			d.children[p], d.syncedChildren[p] = c, c
		}
		d = c
	}
	base := ps[len(ps)-1]
	n := &node{data: bytes.Clone(b), synced: bytes.Clone(b)}
	d.children[base], d.syncedChildren[base] = n, n
}

type memFile struct {
	m          *MemFS
	gen        int
	n          *node
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

// file is live for the operations of a file, not a directory.
func (f *memFile) file() error {
	if err := f.live(); err != nil {
		return err
	}
	if f.n.isDir {
		return &fs.PathError{Op: "read", Path: f.name, Err: errIsDir}
	}
	return nil
}

func (f *memFile) Read(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.file(); err != nil {
		return 0, err
	}
	if f.pos >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[f.pos:])
	f.pos += int64(n)
	return n, nil
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.file(); err != nil {
		return 0, err
	}
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.file(); err != nil {
		return 0, err
	}
	if err := f.m.step(); err != nil {
		return 0, err
	}
	if f.appendOnly {
		f.pos = int64(len(f.n.data))
	}
	for int64(len(f.n.data)) < f.pos {
		f.n.data = append(f.n.data, 0)
	}
	n := copy(f.n.data[f.pos:], p)
	f.n.data = append(f.n.data, p[n:]...)
	f.pos += int64(len(p))
	return len(p), nil
}

func (f *memFile) Sync() error {
	if d := f.m.SyncDelay; d > 0 && !f.n.isDir {
		time.Sleep(d)
	}
	if h := f.m.SyncHook; h != nil && !f.n.isDir {
		h(f.m.nameOf(f.n))
	}
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.live(); err != nil {
		return err
	}
	if err := f.m.step(); err != nil {
		return err
	}
	if f.n.isDir {
		f.n.syncedChildren = maps.Clone(f.n.children)
		return nil
	}
	f.n.synced = bytes.Clone(f.n.data)
	f.m.syncs++
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.file(); err != nil {
		return err
	}
	if err := f.m.step(); err != nil {
		return err
	}
	if size < int64(len(f.n.data)) {
		f.n.data = f.n.data[:size:size]
	}
	for int64(len(f.n.data)) < size {
		f.n.data = append(f.n.data, 0)
	}
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if err := f.file(); err != nil {
		return 0, err
	}
	return int64(len(f.n.data)), nil
}

func (f *memFile) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if f.lock && !f.closed && f.gen == f.m.gen {
		delete(f.m.locks, f.n)
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
