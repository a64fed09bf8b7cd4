package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
)

// SyncPolicy says when appended records reach stable storage. Under every
// policy a record is handed to the kernel (write(2)) before the call that
// wrote it returns, so a killed process loses nothing; the policy decides
// what a power loss can take.
type SyncPolicy int

const (
	// SyncEachWrite makes every write durable (fsync) before it is
	// acknowledged; writes pending at the same moment share one fsync.
	SyncEachWrite SyncPolicy = iota
	// SyncInterval fsyncs in the background every Options.SyncInterval.
	SyncInterval
	// SyncNever leaves flushing to the operating system.
	SyncNever
)

// ParseSyncPolicy maps "each", "interval" or "never" to a policy.
func ParseSyncPolicy(s string) (SyncPolicy, error) {
	switch s {
	case "each", "":
		return SyncEachWrite, nil
	case "interval":
		return SyncInterval, nil
	case "never":
		return SyncNever, nil
	}
	return 0, fmt.Errorf("fsync policy %q: want each, interval or never", s)
}

// appendLog is one append-only file. Its writes are serialised by the
// store's lock; Sync may run beside them.
type appendLog struct {
	fs   FS
	path string
	f    File
	size int64 // end of the last whole record
	// torn is set when a failed write may have left part of a record past
	// size and the truncation back to size failed too; the next append
	// truncates first.
	torn bool
	// seq of the last record written, and of the last one made durable.
	written, synced atomic.Uint64
}

func openAppendLog(fsys FS, path string) (*appendLog, error) {
	f, err := fsys.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, err
	}
	size, err := f.Size()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &appendLog{fs: fsys, path: path, f: f, size: size}, nil
}

// write hands buf (whole frames) to the kernel in one write. On failure
// the file is cut back to its last whole record, so a later write starts
// on a frame boundary: a full disk fails the writes made while it is full
// and no others.
func (l *appendLog) write(buf []byte) error {
	if l.torn {
		if err := l.f.Truncate(l.size); err != nil {
			return fmt.Errorf("truncate %s after a failed write: %w", filepath.Base(l.path), err)
		}
		l.torn = false
	}
	n, err := l.f.Write(buf)
	if err == nil && n < len(buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		if n > 0 {
			if terr := l.f.Truncate(l.size); terr != nil {
				l.torn = true
			}
		}
		return fmt.Errorf("write %s: %w", filepath.Base(l.path), err)
	}
	l.size += int64(n)
	return nil
}

func (l *appendLog) close() error { return l.f.Close() }

// writeSnapshot writes a new log to path atomically: a temporary file with
// the header and the frames emit is given, fsync, rename, fsync of the
// directory.
func writeSnapshot(fsys FS, path string, each func(emit func([]byte) error) error) error {
	tmp := path + ".tmp"
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 4<<10)
	buf = append(buf, fileMagic...)
	flush := func() error {
		if len(buf) == 0 {
			return nil
		}
		n, err := f.Write(buf)
		if err == nil && n < len(buf) {
			err = io.ErrShortWrite
		}
		buf = buf[:0]
		return err
	}
	err = each(func(p []byte) error {
		buf = appendFrame(buf, p)
		if len(buf) >= 256<<10 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fsys.Remove(tmp)
		return err
	}
	if err := fsys.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(fsys, filepath.Dir(path))
}

func syncDir(fsys FS, dir string) error {
	d, err := fsys.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// mkdirDurable makes dir and its missing parents, and makes each new
// name durable by syncing the directory that holds it: a directory made
// but not synced into its parent can vanish at a power loss, with every
// log in it.
func mkdirDurable(fsys FS, dir string) error {
	var made []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		f, err := fsys.OpenFile(d, os.O_RDONLY, 0)
		if err == nil {
			f.Close()
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			break // MkdirAll says what is wrong
		}
		made = append(made, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := fsys.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, d := range made {
		if err := syncDir(fsys, filepath.Dir(d)); err != nil {
			return fmt.Errorf("sync %s: %w", filepath.Dir(d), err)
		}
	}
	return nil
}

// copyFile copies src to dst and makes the copy durable (but not its name).
func copyFile(fsys FS, src, dst string) error {
	in, err := fsys.OpenFile(src, os.O_RDONLY, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := fsys.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// appendFile appends raw bytes to path (created if need be) and makes them
// durable: recovery sets damage and orphans aside this way before the
// compaction that drops them from the log.
func appendFile(fsys FS, path string, b []byte) error {
	f, err := fsys.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncDir(fsys, filepath.Dir(path))
}
