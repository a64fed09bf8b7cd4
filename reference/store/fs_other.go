//go:build !unix

package store

import "os"

// Lock only creates the lock file where flock(2) is missing: the data
// directory is then not protected from a second process.
func (OSFS) Lock(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}
