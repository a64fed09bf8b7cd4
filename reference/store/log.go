// Package store keeps a relay's queues and undelivered messages in memory
// and on disk: an append-only log per kind of data, replayed and compacted
// at start, with a choice of fsync policy. A record a caller was told is
// written survives a crash under the default policy (fsync each write).
//
// Damage at start (a torn last write, flipped bits) is recovered, not
// refused: every record up to the first bad one is kept, the rest of the
// file is set aside in a ".damaged" file, and Recovery says what was dropped.
package store

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sync"
	"time"
)

// SyncPolicy says when appended records reach stable storage.
type SyncPolicy int

const (
	// SyncEachWrite fsyncs before each write returns (the default).
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

// maxRecord bounds one record's payload; a larger length is damage.
const maxRecord = 1 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// A record on disk: u32 payload length ‖ u32 CRC-32C of payload ‖ payload.
const recordHeader = 8

// appendLog is one append-only file.
type appendLog struct {
	mu     sync.Mutex
	f      *os.File
	w      *bufio.Writer
	policy SyncPolicy
	dirty  bool
	stop   chan struct{}
	done   chan struct{}
}

func openAppendLog(path string, policy SyncPolicy, interval time.Duration) (*appendLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	l := &appendLog{f: f, w: bufio.NewWriterSize(f, 64<<10), policy: policy}
	if policy == SyncInterval {
		if interval <= 0 {
			interval = time.Second
		}
		l.stop, l.done = make(chan struct{}), make(chan struct{})
		go l.syncLoop(interval)
	}
	return l, nil
}

func (l *appendLog) syncLoop(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.mu.Lock()
			if l.dirty {
				if l.w.Flush() == nil && l.f.Sync() == nil {
					l.dirty = false
				}
			}
			l.mu.Unlock()
		}
	}
}

// append writes records as one unit and applies the sync policy.
func (l *appendLog) append(payloads ...[]byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var hdr [recordHeader]byte
	for _, p := range payloads {
		binary.BigEndian.PutUint32(hdr[0:4], uint32(len(p)))
		binary.BigEndian.PutUint32(hdr[4:8], crc32.Checksum(p, castagnoli))
		if _, err := l.w.Write(hdr[:]); err != nil {
			return err
		}
		if _, err := l.w.Write(p); err != nil {
			return err
		}
	}
	switch l.policy {
	case SyncEachWrite:
		if err := l.w.Flush(); err != nil {
			return err
		}
		return l.f.Sync()
	case SyncInterval:
		l.dirty = true
		return nil
	default:
		return l.w.Flush()
	}
}

func (l *appendLog) close() error {
	if l.stop != nil {
		close(l.stop)
		<-l.done
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.w.Flush()
	if serr := l.f.Sync(); err == nil {
		err = serr
	}
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// errDamaged marks a record that cannot be trusted.
var errDamaged = errors.New("damaged record")

// readLog calls fn for each intact record of path, in order, and returns the
// offset just past the last intact one and the file's size. A missing file
// reads as empty.
func readLog(path string, fn func(payload []byte) error) (good, size int64, err error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	r := bufio.NewReaderSize(f, 256<<10)
	var hdr [recordHeader]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return good, st.Size(), nil // clean end, or a torn header
		}
		n := binary.BigEndian.Uint32(hdr[0:4])
		if n > maxRecord {
			return good, st.Size(), nil
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return good, st.Size(), nil
		}
		if crc32.Checksum(buf, castagnoli) != binary.BigEndian.Uint32(hdr[4:8]) {
			return good, st.Size(), nil
		}
		if err := fn(buf); err != nil {
			if errors.Is(err, errDamaged) {
				return good, st.Size(), nil
			}
			return good, st.Size(), err
		}
		good += recordHeader + int64(n)
	}
}

// writeSnapshot writes payloads to path atomically: a temporary file, fsync,
// rename, fsync of the directory.
func writeSnapshot(path string, each func(emit func([]byte) error) error) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 256<<10)
	var hdr [recordHeader]byte
	err = each(func(p []byte) error {
		binary.BigEndian.PutUint32(hdr[0:4], uint32(len(p)))
		binary.BigEndian.PutUint32(hdr[4:8], crc32.Checksum(p, castagnoli))
		if _, err := w.Write(hdr[:]); err != nil {
			return err
		}
		_, err := w.Write(p)
		return err
	})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(path)
}

func syncDir(path string) error {
	d, err := os.Open(dirOf(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' || path[i] == os.PathSeparator {
			return path[:i+1]
		}
	}
	return "."
}

// setAside copies the bytes of path from off to the end into path.damaged
// (appending), so an operator can inspect what recovery dropped.
func setAside(path string, off int64) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	if _, err := src.Seek(off, io.SeekStart); err != nil {
		return err
	}
	dst, err := os.OpenFile(path+".damaged", os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
