package sync_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc/muctest"
	"cusax.dev/bridge/sync/synctest"
)

// BenchmarkVoiceRevoke measures, end to end on one node, the time from a
// moderator's client sending a voice revoke (slixmpp → Prosody → component
// → sync → mixer) to the first mixed frame a listener receives without the
// talker's 1000 Hz tone; p50 and p99 are reported (target: p99 ≤ 60 ms).
// Each iteration revokes then grants voice back.
func BenchmarkVoiceRevoke(b *testing.B) {
	testpeer.Integration(b)
	testpeer.Need(b, "prosody")
	testpeer.NeedPythonModule(b, "slixmpp")
	st := synctest.Start(b, synctest.Options{PortMin: 49200})
	mod := muctest.NewClient(b, st.Prosody, "mod", "desk")
	roomJID := st.RoomJID("bench")
	if j := mod.Join(roomJID, "mod", muctest.JoinOptions{}); !j.OK {
		b.Fatalf("moderator could not join: %s", j.Error)
	}
	mark := mod.Mark()
	synctest.DialRTP(b, st.Focus.Addr(), "bench", 1000, 1000)
	mod.WaitFor(mark, "the talker's occupant", phonePresence(roomJID+"/Alice"))
	listener := synctest.DialRTP(b, st.Focus.Addr(), "bench", 0, 1000)
	synctest.WaitFor(b, "the tone reaches the listener", func() bool { return listener.Level(25) > 0.05 })
	level := listener.Level(25)
	silent := func(f synctest.Frame) bool { return f.Tone < level/10 }
	loud := func(f synctest.Frame) bool { return f.Tone > level/2 }
	var revoke []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		mod.Send(synctest.AdminIQ(fmt.Sprintf("r%d", i), roomJID, `<item nick='Alice' role='visitor'/>`))
		var f synctest.Frame
		synctest.WaitFor(b, "a frame without the tone", func() bool {
			var ok bool
			f, ok = listener.FirstAfter(t0, silent)
			return ok
		})
		revoke = append(revoke, f.At.Sub(t0))
		t1 := time.Now()
		mod.Send(synctest.AdminIQ(fmt.Sprintf("g%d", i), roomJID, `<item nick='Alice' role='participant'/>`))
		synctest.WaitFor(b, "the tone back", func() bool {
			_, ok := listener.FirstAfter(t1, loud)
			return ok
		})
		// Let the jitter buffer refill so each revoke starts from a steady tone.
		time.Sleep(100 * time.Millisecond)
	}
	b.StopTimer()
	slices.Sort(revoke)
	q := func(p float64) float64 {
		return float64(revoke[int(p*float64(len(revoke)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
