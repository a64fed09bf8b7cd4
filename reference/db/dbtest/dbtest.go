// Package dbtest holds what tests of packages above reference/db share:
// database options whose passphrase key derivation is as cheap as the KDF
// allows, because tests open hundreds of databases. Never for real data.
package dbtest

import "github.com/smpkit/smpkit/reference/db"

// FastKDF is the cheapest Argon2id setting the database accepts.
var FastKDF = db.KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

// Options returns database options with FastKDF.
func Options() *db.Options { return &db.Options{KDF: FastKDF} }
