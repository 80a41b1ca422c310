// Package bolttest opens throwaway embedded stores for tests.
package bolttest

import (
	"path/filepath"
	"testing"

	"cusax.dev/bridge/store/bolt"
)

// Open opens a store in a file of t's temporary directory, closed when t
// ends.
func Open(t testing.TB) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(bolt.Config{Path: filepath.Join(t.TempDir(), "bridge.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
