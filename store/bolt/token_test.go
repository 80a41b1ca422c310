package bolt_test

import (
	"testing"

	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/bolt/bolttest"
	"cusax.dev/bridge/store/storetest"
)

func TestTokenConformance(t *testing.T) {
	storetest.RunTokens(t, func(t *testing.T) store.Tokens { return bolttest.Open(t) })
}
