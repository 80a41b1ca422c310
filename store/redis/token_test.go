package redis_test

import (
	"testing"

	"cusax.dev/bridge/store"
	"cusax.dev/bridge/store/storetest"
)

func TestTokenConformance(t *testing.T) {
	sv := startServer(t)
	storetest.RunTokens(t, func(t *testing.T) store.Tokens { return sv.fresh(t) })
}
