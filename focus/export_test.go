package focus

import "time"

// SetSessionExpires bypasses the RFC 4028 90 s minimum so tests can watch
// session timers fire.
func SetSessionExpires(f *Focus, d time.Duration) { f.sessionExpires.Store(int64(d)) }
