package agent_test

import (
	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/db/dbtest"
)

const testPassphrase = "agent test passphrase"

// testDB keeps key derivation cheap in tests; the real parameters are
// exercised in package db.
func testDB() *db.Options {
	return dbtest.Options()
}
