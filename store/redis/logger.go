package redis

import (
	"context"
	"fmt"
	"log/slog"
)

// GoRedisLogger routes go-redis's own messages (Sentinel switches, pool
// trouble) to a slog.Logger instead of the standard logger. go-redis keeps
// that logger process-wide, so the one place that knows every logger,
// cmd/bridge, installs it once with goredis.SetLogger(redis.GoRedisLogger{L: l}).
type GoRedisLogger struct{ L *slog.Logger }

// Printf implements go-redis's internal logging interface.
func (g GoRedisLogger) Printf(ctx context.Context, format string, v ...any) {
	if g.L != nil {
		g.L.InfoContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
	}
}
