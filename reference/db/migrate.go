package db

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// Schema is one package's tables: its migrations, applied in order, each
// once. Migration i (from 0) brings the package's schema to version i+1.
// A package names its tables with its own prefix (agent_, chat_) so that
// schemas never collide.
type Schema struct {
	// Package names the schema ("agent", "chat"): lowercase letters,
	// digits and underscores.
	Package    string
	Migrations []Migration
}

// Migration is one step of a schema. SQL runs first (any number of
// statements), then Func if set. Once released a migration never changes:
// its SQL's SHA-256 is recorded, and a different one is refused.
type Migration struct {
	Name string
	SQL  string
	Func func(*Tx) error
}

// Errors of Migrate.
var (
	// ErrSchemaNewer: the database holds migrations of the package beyond
	// those this code knows (it was written by a newer version).
	ErrSchemaNewer = errors.New("db: database schema newer than this program")
	// ErrMigrationChanged: an applied migration's SQL differs from the
	// code's.
	ErrMigrationChanged = errors.New("db: applied migration changed")
)

var packageName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

// bootstrap creates the migrations table, the one table package db owns.
// Reading it also proves the key opens the pages.
func (d *DB) bootstrap(ctx context.Context) error {
	return d.Update(ctx, func(tx *Tx) error {
		_, err := tx.Exec(`CREATE TABLE IF NOT EXISTS db_migrations (
			package    TEXT    NOT NULL,
			version    INTEGER NOT NULL,
			name       TEXT    NOT NULL,
			sql_sha256 BLOB    NOT NULL,
			applied_at INTEGER NOT NULL,
			PRIMARY KEY (package, version)
		) WITHOUT ROWID`)
		return err
	})
}

// Migrate brings the package's schema up to date: the migrations not yet
// applied run in order, all in one transaction, so a failing migration
// leaves the schema as it was.
func (d *DB) Migrate(ctx context.Context, s Schema) error {
	if !packageName.MatchString(s.Package) {
		return fmt.Errorf("db: migrate: bad package name %q", s.Package)
	}
	err := d.Update(ctx, func(tx *Tx) error {
		applied, err := appliedSums(tx, s.Package)
		if err != nil {
			return err
		}
		if len(applied) > len(s.Migrations) {
			return fmt.Errorf("%w: %s at version %d, this program knows %d", ErrSchemaNewer, s.Package, len(applied), len(s.Migrations))
		}
		for i, m := range s.Migrations {
			v := i + 1
			sum := sha256.Sum256([]byte(m.SQL))
			if i < len(applied) {
				if !bytes.Equal(applied[i], sum[:]) {
					return fmt.Errorf("%w: %s version %d (%s)", ErrMigrationChanged, s.Package, v, m.Name)
				}
				continue
			}
			if m.SQL != "" {
				if _, err := tx.Exec(m.SQL); err != nil {
					return fmt.Errorf("%s version %d (%s): %w", s.Package, v, m.Name, err)
				}
			}
			if m.Func != nil {
				if err := m.Func(tx); err != nil {
					return fmt.Errorf("%s version %d (%s): %w", s.Package, v, m.Name, err)
				}
			}
			if _, err := tx.Exec(`INSERT INTO db_migrations (package, version, name, sql_sha256, applied_at) VALUES (?, ?, ?, ?, ?)`,
				s.Package, v, m.Name, sum[:], time.Now().Unix()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("db: migrate: %w", err)
	}
	return nil
}

// appliedSums returns the SQL hashes of the package's applied migrations
// by version, checking that the versions run 1..n without a gap.
func appliedSums(tx *Tx, pkg string) ([][]byte, error) {
	rows, err := tx.Query(`SELECT version, sql_sha256 FROM db_migrations WHERE package = ? ORDER BY version`, pkg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var sums [][]byte
	for rows.Next() {
		var v int
		var sum []byte
		if err := rows.Scan(&v, &sum); err != nil {
			return nil, err
		}
		if v != len(sums)+1 {
			return nil, fmt.Errorf("%s: applied versions have a gap at %d", pkg, len(sums)+1)
		}
		sums = append(sums, sum)
	}
	return sums, rows.Err()
}

// Version returns the package's applied schema version (0 if none).
func (d *DB) Version(ctx context.Context, pkg string) (int, error) {
	var v int
	err := d.View(ctx, func(tx *Tx) error {
		return tx.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM db_migrations WHERE package = ?`, pkg).Scan(&v)
	})
	return v, err
}
