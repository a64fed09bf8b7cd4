package storetest

import (
	"io/fs"
	"sync"
	"syscall"

	"github.com/smpkit/smpkit/reference/store"
)

// FaultFS wraps a file system and fails its writes as a full disk does:
// while Full, a write stores half its bytes and fails with ENOSPC. SyncErr,
// when set, is returned by every fsync of a file instead of syncing.
type FaultFS struct {
	store.FS
	mu      sync.Mutex
	full    bool
	syncErr error
}

// SetFull fills or frees the disk.
func (f *FaultFS) SetFull(full bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.full = full
}

// SetSyncError makes fsync fail with err (nil: succeed again).
func (f *FaultFS) SetSyncError(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncErr = err
}

func (f *FaultFS) state() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.full, f.syncErr
}

func (f *FaultFS) OpenFile(name string, flag int, perm fs.FileMode) (store.File, error) {
	inner, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{File: inner, fs: f}, nil
}

type faultFile struct {
	store.File
	fs *FaultFS
}

func (f *faultFile) Write(p []byte) (int, error) {
	if full, _ := f.fs.state(); full {
		n, err := f.File.Write(p[:len(p)/2])
		if err != nil {
			return n, err
		}
		return n, syscall.ENOSPC
	}
	return f.File.Write(p)
}

func (f *faultFile) Sync() error {
	if _, err := f.fs.state(); err != nil {
		return err
	}
	return f.File.Sync()
}
