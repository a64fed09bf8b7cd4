package storetest

import (
	"os"
	"strings"
	"testing"
)

// Tests of MemFS's durability rules, one each: what a power loss keeps.

func create(t *testing.T, m *MemFS, name, data string) {
	t.Helper()
	f, err := m.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

func syncDir(t *testing.T, m *MemFS, dir string) {
	t.Helper()
	d, err := m.OpenFile(dir, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

func powerLoss(m *MemFS) {
	m.CrashAfter(0)
	m.Restart()
}

// has reports the contents of name, "-" for none.
func has(m *MemFS, name string) string {
	b, err := m.ReadFile(name)
	if err != nil {
		return "-"
	}
	return string(b)
}

func isDir(m *MemFS, name string) bool {
	_, err := m.ReadDir(name)
	return err == nil
}

func want(t *testing.T, m *MemFS, files ...string) {
	t.Helper()
	for i := 0; i < len(files); i += 2 {
		if got := has(m, files[i]); got != files[i+1] {
			t.Errorf("%s: %q, want %q", files[i], got, files[i+1])
		}
	}
}

func TestUnsyncedCreateLost(t *testing.T) {
	m := NewMemFS()
	create(t, m, "/f", "data") // file fsynced, directory not
	powerLoss(m)
	want(t, m, "/f", "-")
}

func TestSyncedCreateKept(t *testing.T) {
	m := NewMemFS()
	create(t, m, "/f", "data")
	syncDir(t, m, "/")
	powerLoss(m)
	want(t, m, "/f", "data")
}

func TestContentsRevertToLastSync(t *testing.T) {
	m := NewMemFS()
	create(t, m, "/f", "one")
	syncDir(t, m, "/")
	f, _ := m.OpenFile("/f", os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte(" two"))
	powerLoss(m)
	want(t, m, "/f", "one")
	// A file whose name is durable but whose data never was is empty.
	g, _ := m.OpenFile("/g", os.O_WRONLY|os.O_CREATE, 0o600)
	g.Write([]byte("lost"))
	syncDir(t, m, "/")
	powerLoss(m)
	want(t, m, "/g", "")
}

func TestRenameWithoutDirSyncReverts(t *testing.T) {
	m := NewMemFS()
	create(t, m, "/old", "data")
	create(t, m, "/target", "before")
	syncDir(t, m, "/")
	if err := m.Rename("/old", "/new"); err != nil {
		t.Fatal(err)
	}
	if err := m.Rename("/new", "/target"); err != nil {
		t.Fatal(err)
	}
	want(t, m, "/old", "-", "/target", "data")
	powerLoss(m)
	want(t, m, "/old", "data", "/new", "-", "/target", "before")
	m.Rename("/old", "/target")
	syncDir(t, m, "/")
	powerLoss(m)
	want(t, m, "/old", "-", "/target", "data")
}

// TestRenameAcrossDirs: as in pebble's strict MemFS, each directory's
// entries are durable alone: the rename is a removal from one and an
// addition to the other, and a power loss between the two syncs leaves
// the file under both names or under none.
func TestRenameAcrossDirs(t *testing.T) {
	for _, tc := range []struct {
		sync     []string
		from, to string
	}{
		{nil, "data", "-"},
		{[]string{"/b"}, "data", "data"},
		{[]string{"/a"}, "-", "-"},
		{[]string{"/a", "/b"}, "-", "data"},
	} {
		m := NewMemFS()
		m.MkdirAll("/a", 0o700)
		m.MkdirAll("/b", 0o700)
		syncDir(t, m, "/")
		create(t, m, "/a/f", "data")
		syncDir(t, m, "/a")
		if err := m.Rename("/a/f", "/b/f"); err != nil {
			t.Fatal(err)
		}
		for _, d := range tc.sync {
			syncDir(t, m, d)
		}
		powerLoss(m)
		if a, b := has(m, "/a/f"), has(m, "/b/f"); a != tc.from || b != tc.to {
			t.Errorf("synced %v: /a/f %q, /b/f %q; want %q, %q", tc.sync, a, b, tc.from, tc.to)
		}
	}
}

func TestRemoveWithoutDirSyncComesBack(t *testing.T) {
	m := NewMemFS()
	create(t, m, "/f", "data")
	syncDir(t, m, "/")
	if err := m.Remove("/f"); err != nil {
		t.Fatal(err)
	}
	want(t, m, "/f", "-")
	powerLoss(m)
	want(t, m, "/f", "data")
	m.Remove("/f")
	syncDir(t, m, "/")
	powerLoss(m)
	want(t, m, "/f", "-")
}

// TestMkdirAllNeedsEachParentSynced: a new directory is durable once its
// parent is synced, and reachable once every directory above it is.
func TestMkdirAllNeedsEachParentSynced(t *testing.T) {
	for _, tc := range []struct {
		sync []string
		kept string // the deepest directory kept
	}{
		{nil, "/"},
		{[]string{"/a/b"}, "/"},
		{[]string{"/a/b", "/a"}, "/"}, // /a itself is not in /
		{[]string{"/"}, "/a"},
		{[]string{"/", "/a/b"}, "/a"},
		{[]string{"/", "/a"}, "/a/b"},
		{[]string{"/a/b", "/a", "/"}, "/a/b/c"},
	} {
		m := NewMemFS()
		if err := m.MkdirAll("/a/b/c", 0o700); err != nil {
			t.Fatal(err)
		}
		for _, d := range tc.sync {
			syncDir(t, m, d)
		}
		powerLoss(m)
		kept := "/"
		for _, d := range []string{"/a", "/a/b", "/a/b/c"} {
			if isDir(m, d) {
				kept = d
			}
		}
		if kept != tc.kept {
			t.Errorf("synced %v: deepest directory kept %s, want %s", tc.sync, kept, tc.kept)
		}
	}
}

// TestLostDirTakesItsFiles: files synced into a directory that is not
// durable go with it.
func TestLostDirTakesItsFiles(t *testing.T) {
	m := NewMemFS()
	m.MkdirAll("/data", 0o700)
	create(t, m, "/data/f", "data")
	syncDir(t, m, "/data")
	powerLoss(m)
	if isDir(m, "/data") || has(m, "/data/f") != "-" {
		t.Fatal("a directory never synced into its parent survived")
	}
}

func TestLinkNeedsDirSync(t *testing.T) {
	m := NewMemFS()
	m.MkdirAll("/b", 0o700)
	create(t, m, "/f", "data")
	syncDir(t, m, "/")
	if err := m.Link("/f", "/b/f"); err != nil {
		t.Fatal(err)
	}
	powerLoss(m)
	want(t, m, "/f", "data", "/b/f", "-")
	m.Link("/f", "/b/f")
	syncDir(t, m, "/b")
	// Both names are one file: data synced through one is durable in both.
	f, _ := m.OpenFile("/b/f", os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("+"))
	f.Sync()
	powerLoss(m)
	want(t, m, "/f", "data+", "/b/f", "data+")
}

// TestSyncHookNames: the hook gets the file's name after a rename, and the
// first of its names with hard links.
func TestSyncHookNames(t *testing.T) {
	m := NewMemFS()
	var names []string
	m.SyncHook = func(name string) { names = append(names, name) }
	m.MkdirAll("/d", 0o700)
	create(t, m, "/d/z.tmp", "x")
	m.Rename("/d/z.tmp", "/d/z")
	m.Link("/d/z", "/d/a")
	f, _ := m.OpenFile("/d/z", os.O_WRONLY, 0)
	f.Sync()
	if got := strings.Join(names, " "); got != "/d/z.tmp /d/a" {
		t.Fatalf("hook names %q", got)
	}
}
