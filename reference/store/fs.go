package store

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"sort"
)

// FS is the little of a file system the store uses. Tests substitute file
// systems that lose unsynced writes or fail with ENOSPC (package
// storetest); OSFS is the real one.
//
// Durability follows POSIX: a write is durable after File.Sync of the file;
// a create, rename, link or remove is durable after Sync of the directory,
// opened with OpenFile(dir, os.O_RDONLY, 0); a directory MkdirAll makes is
// such a create too, in its parent.
type FS interface {
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	Rename(oldpath, newpath string) error
	Link(oldpath, newpath string) error
	Remove(name string) error
	MkdirAll(path string, perm fs.FileMode) error
	// ReadDir returns the names in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// Lock takes an exclusive lock on the file name (created if need be)
	// without waiting: ErrLocked if another holder has it. The lock is
	// released by closing the returned file, or when the process ends.
	Lock(name string) (File, error)
}

// File is an open file of an FS.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.Closer
	Sync() error
	Truncate(size int64) error
	Size() (int64, error)
}

// ErrLocked is returned by FS.Lock for a lock held elsewhere.
var ErrLocked = errors.New("locked")

// OSFS is the operating system's file system.
type OSFS struct{}

type osFile struct{ *os.File }

func (f osFile) Size() (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (OSFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (OSFS) Rename(o, n string) error                  { return os.Rename(o, n) }
func (OSFS) Link(o, n string) error                    { return os.Link(o, n) }
func (OSFS) Remove(name string) error                  { return os.Remove(name) }
func (OSFS) MkdirAll(p string, perm fs.FileMode) error { return os.MkdirAll(p, perm) }

func (OSFS) ReadDir(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = e.Name()
	}
	sort.Strings(names)
	return names, nil
}
