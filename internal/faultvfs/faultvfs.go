// Package faultvfs is a test fixture: an SQLite VFS over the real file
// system whose writes can be made to fail, as on a full disk. Only tests
// import it (db, agent); it is never part of a shipped program.
package faultvfs

import (
	"sync"

	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/util/vfsutil"
	"github.com/ncruces/go-sqlite3/vfs"
)

// VFS wraps a base VFS (the operating system's by default).
type VFS struct {
	base vfs.VFS

	mu     sync.Mutex
	armed  bool
	budget int64 // bytes still writable while armed
	err    error
	failed int
}

// New wraps base; nil means the operating system's VFS.
func New(base vfs.VFS) *VFS {
	if base == nil {
		base = vfs.Find("")
	}
	return &VFS{base: base}
}

// FailAfter makes writes fail with SQLITE_FULL once budget more bytes have
// been written (0: the next write fails). A failing write writes nothing.
func (v *VFS) FailAfter(budget int64) { v.FailAfterWith(budget, sqlite3.FULL) }

// FailAfterWith is FailAfter with another error (e.g. sqlite3.IOERR_WRITE).
func (v *VFS) FailAfterWith(budget int64, err error) {
	v.mu.Lock()
	v.armed, v.budget, v.err = true, budget, err
	v.mu.Unlock()
}

// Heal makes writes succeed again, as when space was freed.
func (v *VFS) Heal() {
	v.mu.Lock()
	v.armed = false
	v.mu.Unlock()
}

// Failed counts the writes that failed.
func (v *VFS) Failed() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.failed
}

func (v *VFS) allow(n int) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.armed {
		return nil
	}
	if int64(n) > v.budget {
		v.budget = 0
		v.failed++
		return v.err
	}
	v.budget -= int64(n)
	return nil
}

// Open implements vfs.VFS.
func (v *VFS) Open(name string, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	f, flags, err := vfsutil.WrapOpen(v.base, name, flags)
	if err != nil {
		return f, flags, err
	}
	return &file{File: f, v: v}, flags, nil
}

// OpenFilename implements vfs.VFSFilename.
func (v *VFS) OpenFilename(name *vfs.Filename, flags vfs.OpenFlag) (vfs.File, vfs.OpenFlag, error) {
	f, flags, err := vfsutil.WrapOpenFilename(v.base, name, flags)
	if err != nil {
		return f, flags, err
	}
	return &file{File: f, v: v}, flags, nil
}

// Delete implements vfs.VFS.
func (v *VFS) Delete(name string, syncDir bool) error { return v.base.Delete(name, syncDir) }

// Access implements vfs.VFS.
func (v *VFS) Access(name string, flags vfs.AccessFlag) (bool, error) {
	return v.base.Access(name, flags)
}

// FullPathname implements vfs.VFS.
func (v *VFS) FullPathname(name string) (string, error) { return v.base.FullPathname(name) }

type file struct {
	vfs.File
	v *VFS
}

func (f *file) WriteAt(p []byte, off int64) (int, error) {
	if err := f.v.allow(len(p)); err != nil {
		return 0, err
	}
	return f.File.WriteAt(p, off)
}

func (f *file) Truncate(size int64) error {
	if cur, err := f.File.Size(); err == nil && size > cur {
		if err := f.v.allow(int(size - cur)); err != nil {
			return err
		}
	}
	return f.File.Truncate(size)
}

// The optional interfaces, forwarded so that WAL mode and the encrypting
// VFS above work as over the plain file.

func (f *file) Unwrap() vfs.File                     { return f.File }
func (f *file) SharedMemory() vfs.SharedMemory       { return vfsutil.WrapSharedMemory(f.File) }
func (f *file) LockState() vfs.LockLevel             { return vfsutil.WrapLockState(f.File) }
func (f *file) PersistentWAL() bool                  { return vfsutil.WrapPersistWAL(f.File) }
func (f *file) SetPersistentWAL(keep bool)           { vfsutil.WrapSetPersistWAL(f.File, keep) }
func (f *file) PowersafeOverwrite() bool             { return vfsutil.WrapPowersafeOverwrite(f.File) }
func (f *file) SetPowersafeOverwrite(psow bool)      { vfsutil.WrapSetPowersafeOverwrite(f.File, psow) }
func (f *file) ChunkSize(size int)                   { vfsutil.WrapChunkSize(f.File, size) }
func (f *file) HasMoved() (bool, error)              { return vfsutil.WrapHasMoved(f.File) }
func (f *file) Overwrite() error                     { return vfsutil.WrapOverwrite(f.File) }
func (f *file) SyncSuper(super string) error         { return vfsutil.WrapSyncSuper(f.File, super) }
func (f *file) CommitPhaseTwo() error                { return vfsutil.WrapCommitPhaseTwo(f.File) }
func (f *file) CheckpointStart()                     { vfsutil.WrapCheckpointStart(f.File) }
func (f *file) CheckpointDone()                      { vfsutil.WrapCheckpointDone(f.File) }
func (f *file) BusyHandler(handler func() bool)      { vfsutil.WrapBusyHandler(f.File, handler) }
func (f *file) Pragma(n, val string) (string, error) { return vfsutil.WrapPragma(f.File, n, val) }

func (f *file) SizeHint(size int64) error {
	if cur, err := f.File.Size(); err == nil && size > cur {
		if err := f.v.allow(int(size - cur)); err != nil {
			return err
		}
	}
	return vfsutil.WrapSizeHint(f.File, size)
}
