package redis_test

import (
	"io"
	"log/slog"
	"os"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"cusax.dev/bridge/store/redis"
)

// TestMain silences go-redis's process-wide logger (Sentinel chatter) the
// way cmd/bridge is meant to route it: through GoRedisLogger.
func TestMain(m *testing.M) {
	goredis.SetLogger(redis.GoRedisLogger{L: slog.New(slog.NewTextHandler(io.Discard, nil))})
	os.Exit(m.Run())
}
