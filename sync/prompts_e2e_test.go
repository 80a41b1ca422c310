package sync_test

import (
	"context"
	"math"
	"testing"
	"time"

	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/mixer/prompt"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
	"cusax.dev/bridge/prompts"
	"cusax.dev/bridge/sync/synctest"
)

// Issue 18's acceptance: what phone callers hear (docs/design/14_prompts.md).
// Each phone's recording (what baresip decoded) is compared with the
// shipped prompt's own audio: the prompt's loudness envelope, 20 ms by
// 20 ms, must match a stretch of the recording (Pearson correlation), which
// a tone, the room or another prompt do not.

// promptMatch is the correlation above which a recording holds a prompt.
const promptMatch = 0.85

// envelope is the RMS of each 20 ms block.
func envelope(samples []int16, rate int) []float64 {
	n := rate / 50
	out := make([]float64, 0, len(samples)/n)
	for i := 0; i+n <= len(samples); i += n {
		out = append(out, testpeer.RMS(samples[i:i+n]))
	}
	return out
}

func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i]
		mb += b[i]
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var num, da, db float64
	for i := range a {
		num += (a[i] - ma) * (b[i] - mb)
		da += (a[i] - ma) * (a[i] - ma)
		db += (b[i] - mb) * (b[i] - mb)
	}
	if da == 0 || db == 0 {
		return 0
	}
	return num / math.Sqrt(da*db)
}

// recording is a phone's decoded audio.
type recording struct {
	name    string
	rate    int
	samples []int16
}

func record(t *testing.T, name string, p *focustest.Baresip) recording {
	t.Helper()
	synctest.WaitFor(t, name+"'s recording", func() bool { return len(p.Recordings()) > 0 })
	time.Sleep(300 * time.Millisecond) // sndfile closes the file as the call ends
	rate, samples, err := testpeer.ReadWAV(p.Recordings()[0])
	if err != nil {
		t.Fatal(err)
	}
	return recording{name: name, rate: rate, samples: samples}
}

// find returns where in the recording the named prompt best matches, and
// how well (the correlation of the two envelopes).
func (r recording) find(t *testing.T, name string) (at time.Duration, score float64) {
	t.Helper()
	set, err := prompt.Load(prompts.Builtin, "en")
	if err != nil {
		t.Fatal(err)
	}
	c, ok := set.Get(name)
	if !ok {
		t.Fatalf("no prompt %q", name)
	}
	var pcm []int16
	for i := range c.Frames() {
		pcm = append(pcm, c.PCM(i)[:]...)
	}
	want := envelope(pcm, 16000)
	got := envelope(r.samples, r.rate)
	score = -1
	for lag := 0; lag+len(want) <= len(got); lag++ {
		if s := pearson(want, got[lag:lag+len(want)]); s > score {
			score, at = s, time.Duration(lag)*20*time.Millisecond
		}
	}
	return at, score
}

// toneAt is the strongest amplitude of freq in any 120 ms window of the
// recording between from and to.
func (r recording) toneAt(freq float64, from, to time.Duration) float64 {
	n := r.rate * 120 / 1000
	a := max(0, int(from.Seconds()*float64(r.rate)))
	b := min(len(r.samples), int(to.Seconds()*float64(r.rate)))
	best := 0.0
	for i := a; i+n <= b; i += n / 4 {
		best = max(best, testpeer.ToneAmplitude(r.samples[i:i+n], freq, r.rate))
	}
	return best
}

func (r recording) length() time.Duration {
	return time.Duration(len(r.samples)) * time.Second / time.Duration(r.rate)
}

func connected(st *synctest.Stack, room string, n int) func() bool {
	return func() bool {
		c := 0
		for _, l := range st.Focus.Legs(room) {
			if l.State == "connected" {
				c++
			}
		}
		return c == n
	}
}

func dialPhone(t *testing.T, ctx context.Context, st *synctest.Stack, user string, hz float64) *focustest.Baresip {
	t.Helper()
	p := focustest.StartBaresip(t, focustest.BaresipOptions{User: user, Play: toneWAV(t, hz, 60)})
	if err := p.Dial(ctx, st.RoomURI("standup")); err != nil {
		t.Fatal(err)
	}
	return p
}

// dialShown dials a phone and waits until the room shows its occupant.
func dialShown(t *testing.T, ctx context.Context, st *synctest.Stack, mod *muctest.Client, user string, hz float64) *focustest.Baresip {
	t.Helper()
	mark := mod.Mark()
	p := dialPhone(t, ctx, st, user, hz)
	mod.WaitFor(mark, user+"'s phone occupant", phonePresence(st.RoomJID("standup")+"/"+user))
	return p
}

func hangup(t *testing.T, ctx context.Context, phones ...*focustest.Baresip) {
	t.Helper()
	for _, p := range phones {
		if err := p.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// Acceptance 1: a caller of a password room hears the PIN prompt before it
// keys the PIN; with the right PIN it hears the other phone; three wrong
// PINs end the call after the removal prompt.
func TestE2EPromptsPIN(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 50400})
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	jay := dialPhone(t, ctx, st, "jay", 1000)
	synctest.WaitFor(t, "jay connected", connected(st, "standup", 1))
	form := `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
		`<field var='muc#roomconfig_passwordprotectedroom'><value>1</value></field><field var='muc#roomconfig_roomsecret'><value>4711</value></field></x>`
	if res := mod.IQ("c1", synctest.OwnerIQ("c1", roomJID, form)); res.Attr("type") != "result" {
		t.Fatalf("setting a password: %s", res.Raw)
	}

	ivy := dialPhone(t, ctx, st, "ivy", 500)
	synctest.WaitFor(t, "ivy connected", connected(st, "standup", 2))
	start := time.Now()
	time.Sleep(5 * time.Second) // the prompt asks for the PIN
	keyed := time.Since(start)
	if _, err := ivy.Command(ctx, "sndcode", "4711#"); err != nil {
		t.Fatal(err)
	}
	synctest.WaitFor(t, "ivy has voice", func() bool {
		legs := st.Focus.Legs("standup")
		for _, l := range legs {
			if l.Muted {
				return false
			}
		}
		return len(legs) == 2
	})
	time.Sleep(5 * time.Second) // "you may speak now", then the room
	heard := time.Since(start)

	kim := dialPhone(t, ctx, st, "kim", 500)
	synctest.WaitFor(t, "kim connected", connected(st, "standup", 3))
	for range 3 {
		time.Sleep(3 * time.Second)
		if _, err := kim.Command(ctx, "sndcode", "1#"); err != nil {
			t.Fatal(err)
		}
	}
	if err := kim.WaitLog(ctx, "session closed"); err != nil {
		t.Fatalf("kim was not hung up after three wrong PINs: %v", err)
	}
	hangup(t, ctx, ivy, jay)

	iv := record(t, "ivy", ivy)
	at, score := iv.find(t, "pin-enter")
	t.Logf("ivy: pin-enter at %v (score %.2f), PIN keyed at %v", at, score, keyed)
	if score < promptMatch || at > keyed {
		t.Errorf("ivy's recording has no PIN prompt before the PIN: best match %.2f at %v (keyed at %v)", score, at, keyed)
	}
	after := iv.toneAt(1000, heard-2*time.Second, heard)
	during := iv.toneAt(1000, at+500*time.Millisecond, at+3*time.Second)
	t.Logf("ivy: jay's 1000 Hz at %.3f during the PIN prompt, %.3f after the right PIN", during, after)
	if after < 0.05 {
		t.Errorf("ivy does not hear jay's 1000 Hz after the right PIN: amplitude %.3f", after)
	}
	// Jay's tone comes at amplitude 0.3; speech has a little energy near
	// 1000 Hz too.
	if during > 0.1 {
		t.Errorf("ivy heard the room (1000 Hz at %.3f) through the PIN prompt, which should take its place", during)
	}
	// Between the end of the prompt and the PIN she hears nothing of the
	// room: a caller who has not given the password must not listen in.
	if keyed-at > 4500*time.Millisecond { // the prompt lasts 4.05 s
		waiting := iv.toneAt(1000, at+4200*time.Millisecond, keyed-100*time.Millisecond)
		t.Logf("ivy: jay's 1000 Hz at %.3f after the prompt, before her PIN", waiting)
		if waiting > 0.02 {
			t.Errorf("ivy heard the room (1000 Hz at %.3f) before giving the PIN", waiting)
		}
	}
	ki := record(t, "kim", kim)
	wrongAt, wrong := ki.find(t, "pin-wrong")
	removedAt, removed := ki.find(t, "pin-removed")
	t.Logf("kim (%v): pin-wrong at %v (%.2f), pin-removed at %v (%.2f)", ki.length(), wrongAt, wrong, removedAt, removed)
	if wrong < promptMatch || removed < promptMatch {
		t.Errorf("kim's recording lacks a prompt: pin-wrong %.2f, pin-removed %.2f", wrong, removed)
	}
	if end := ki.length() - removedAt; removedAt < wrongAt || end > 3*time.Second {
		t.Errorf("the removal prompt (at %v) is not the last thing kim heard before the BYE (recording %v long)", removedAt, ki.length())
	}
}

// Acceptance 2: a moderator revokes a caller's voice: that caller hears
// the "muted" prompt, the other phone does not; granting it back, "you may
// speak now".
func TestE2EPromptsVoice(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 50800})
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	alice := dialPhone(t, ctx, st, "alice", 1000)
	carol := dialShown(t, ctx, st, mod, "carol", 1500)
	synctest.WaitFor(t, "both connected", connected(st, "standup", 2))
	time.Sleep(4 * time.Second)
	if res := mod.IQ("v1", synctest.AdminIQ("v1", roomJID, `<item nick='carol' role='visitor'/>`)); res.Attr("type") != "result" {
		t.Fatalf("revoking voice: %s", res.Raw)
	}
	time.Sleep(4 * time.Second)
	if res := mod.IQ("v2", synctest.AdminIQ("v2", roomJID, `<item nick='carol' role='participant'/>`)); res.Attr("type") != "result" {
		t.Fatalf("granting voice: %s", res.Raw)
	}
	time.Sleep(4 * time.Second)
	hangup(t, ctx, alice, carol)
	c, a := record(t, "carol", carol), record(t, "alice", alice)
	for _, name := range []string{"muted", "unmuted"} {
		_, cs := c.find(t, name)
		_, as := a.find(t, name)
		t.Logf("%q: carol %.2f, alice %.2f", name, cs, as)
		if cs < promptMatch {
			t.Errorf("carol's recording lacks %q (best match %.2f)", name, cs)
		}
		if as >= promptMatch {
			t.Errorf("alice heard carol's %q prompt (match %.2f)", name, as)
		}
	}
}

// Acceptance 3: a kicked caller hears the removal prompt, then the BYE.
func TestE2EPromptsKick(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 51200})
	mod := joinAsModerator(t, st, "standup")
	roomJID := st.RoomJID("standup")
	carol := dialShown(t, ctx, st, mod, "carol", 1500)
	synctest.WaitFor(t, "carol connected", connected(st, "standup", 1))
	time.Sleep(3 * time.Second)
	kicked := time.Now()
	if res := mod.IQ("k1", synctest.AdminIQ("k1", roomJID, `<item nick='carol' role='none'/>`)); res.Attr("type") != "result" {
		t.Fatalf("kick refused: %s", res.Raw)
	}
	if err := carol.WaitLog(ctx, "session closed"); err != nil {
		t.Fatalf("carol's phone got no BYE: %v", err)
	}
	took := time.Since(kicked)
	c := record(t, "carol", carol)
	at, score := c.find(t, "kicked")
	t.Logf("carol (%v): kicked prompt at %v (%.2f); BYE %v after the kick", c.length(), at, score, took)
	if score < promptMatch {
		t.Fatalf("carol's recording lacks the removal prompt (best match %.2f)", score)
	}
	if end := c.length() - at; end > 4*time.Second {
		t.Errorf("the removal prompt (at %v) is not the last thing carol heard (recording %v long)", at, c.length())
	}
	if took < 3*time.Second {
		t.Errorf("the BYE came %v after the kick, before the 3.3 s prompt could be heard", took)
	}
}

// joinThenLeave has alice call "standup" alone, bob join 4 s later (after
// her first-participant prompt) and leave 3 s after that, then alice hang
// up; it returns when bob joined and left, from alice's start.
func joinThenLeave(t *testing.T, ctx context.Context, st *synctest.Stack) (alice, bob *focustest.Baresip, joined, left time.Duration) {
	t.Helper()
	alice = dialPhone(t, ctx, st, "alice", 1000)
	synctest.WaitFor(t, "alice connected", connected(st, "standup", 1))
	start := time.Now()
	time.Sleep(4 * time.Second) // "you are the first participant"
	bob = dialPhone(t, ctx, st, "bob", 1500)
	synctest.WaitFor(t, "bob connected", connected(st, "standup", 2))
	joined = time.Since(start)
	time.Sleep(3 * time.Second)
	hangup(t, ctx, bob)
	left = time.Since(start)
	time.Sleep(2 * time.Second)
	hangup(t, ctx, alice)
	return alice, bob, joined, left
}

// Acceptance 4: the join tone is heard by the phones already in the room,
// not by the one joining; the first one in hears that it is alone.
func TestE2EPromptsJoinTone(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 51600})
	joinAsModerator(t, st, "standup")
	alice, bob, joined, left := joinThenLeave(t, ctx, st)
	a, b := record(t, "alice", alice), record(t, "bob", bob)
	if _, s := a.find(t, "first-participant"); s < promptMatch {
		t.Errorf("alice, alone, did not hear the first-participant prompt (best match %.2f)", s)
	}
	if _, s := b.find(t, "first-participant"); s >= promptMatch {
		t.Errorf("bob, second in, heard the first-participant prompt (match %.2f)", s)
	}
	// The join tone is 660 Hz then 880 Hz; the phones play 1000 and 1500.
	aliceHi := a.toneAt(880, joined-time.Second, joined+2*time.Second)
	aliceLo := a.toneAt(660, joined-time.Second, joined+2*time.Second)
	bobHi, bobLo := b.toneAt(880, 0, b.length()), b.toneAt(660, 0, b.length())
	t.Logf("join tone 660/880 Hz: alice %.3f/%.3f around bob's join at %v, bob %.3f/%.3f", aliceLo, aliceHi, joined, bobLo, bobHi)
	if aliceHi < 0.08 || aliceLo < 0.08 {
		t.Errorf("alice did not hear the join tone: 660 Hz %.3f, 880 Hz %.3f", aliceLo, aliceHi)
	}
	if bobHi > 0.03 || bobLo > 0.03 {
		t.Errorf("bob heard his own join tone: 660 Hz %.3f, 880 Hz %.3f", bobLo, bobHi)
	}
	// The leave tone is the same two notes the other way round.
	hi, lo := a.toneAt(880, left-time.Second, left+2*time.Second), a.toneAt(660, left-time.Second, left+2*time.Second)
	t.Logf("leave tone 660/880 Hz: alice %.3f/%.3f around bob's hang-up at %v", lo, hi, left)
	if hi < 0.08 || lo < 0.08 {
		t.Errorf("alice did not hear bob leave: 660 Hz %.3f, 880 Hz %.3f", lo, hi)
	}
}

// A room whose configuration turns the tones off (cusax#join_tones) plays
// none when a caller joins or leaves.
func TestE2EPromptsJoinToneOff(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 55200})
	mod := joinAsModerator(t, st, "standup")
	form := `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
		`<field var='` + muc.FieldJoinTones + `'><value>0</value></field></x>`
	if res := mod.IQ("c1", synctest.OwnerIQ("c1", st.RoomJID("standup"), form)); res.Attr("type") != "result" {
		t.Fatalf("turning the tones off: %s", res.Raw)
	}
	alice, _, joined, left := joinThenLeave(t, ctx, st)
	a := record(t, "alice", alice)
	for _, w := range []struct {
		what string
		at   time.Duration
	}{{"join", joined}, {"leave", left}} {
		hi, lo := a.toneAt(880, w.at-time.Second, w.at+2*time.Second), a.toneAt(660, w.at-time.Second, w.at+2*time.Second)
		t.Logf("%s tone 660/880 Hz with tones off: alice %.3f/%.3f", w.what, lo, hi)
		if hi > 0.03 || lo > 0.03 {
			t.Errorf("alice heard a %s tone in a room without tones: 660 Hz %.3f, 880 Hz %.3f", w.what, lo, hi)
		}
	}
}

// The caller's own DTMF self-mute (*6) and unmute are answered with a low
// and a high tone, to that caller only.
func TestE2EPromptsSelfMuteTones(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 52000})
	joinAsModerator(t, st, "standup")
	fay := dialPhone(t, ctx, st, "fay", 1700)
	gus := dialPhone(t, ctx, st, "gus", 2100)
	synctest.WaitFor(t, "both connected", connected(st, "standup", 2))
	start := time.Now()
	time.Sleep(4 * time.Second)
	var keyed [2]time.Duration
	for i := range keyed {
		keyed[i] = time.Since(start)
		if _, err := fay.Command(ctx, "sndcode", "*6"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
	}
	hangup(t, ctx, fay, gus)
	f, g := record(t, "fay", fay), record(t, "gus", gus)
	low := f.toneAt(440, keyed[0], keyed[0]+1500*time.Millisecond)
	high := f.toneAt(990, keyed[1], keyed[1]+1500*time.Millisecond)
	glow, ghigh := g.toneAt(440, 0, g.length()), g.toneAt(990, 0, g.length())
	t.Logf("fay: 440 Hz %.3f after *6, 990 Hz %.3f after the second *6; gus: %.3f, %.3f", low, high, glow, ghigh)
	if low < 0.08 || high < 0.08 {
		t.Errorf("fay did not hear the self-mute tones: 440 Hz %.3f, 990 Hz %.3f", low, high)
	}
	if glow > 0.03 || ghigh > 0.03 {
		t.Errorf("gus heard fay's self-mute tones: 440 Hz %.3f, 990 Hz %.3f", glow, ghigh)
	}
}

// A destroyed room tells every caller it has ended before their BYE.
func TestE2EPromptsRoomEnded(t *testing.T) {
	st, ctx := e2e(t, synctest.Options{PortMin: 52400})
	mod := joinAsModerator(t, st, "standup")
	dan := dialPhone(t, ctx, st, "dan", 1000)
	erin := dialPhone(t, ctx, st, "erin", 1500)
	synctest.WaitFor(t, "both connected", connected(st, "standup", 2))
	time.Sleep(3 * time.Second)
	if res := mod.IQ("d1", synctest.OwnerIQ("d1", st.RoomJID("standup"), `<destroy><reason>meeting over</reason></destroy>`)); res.Attr("type") != "result" {
		t.Fatalf("destroy refused: %s", res.Raw)
	}
	for name, p := range map[string]*focustest.Baresip{"dan": dan, "erin": erin} {
		if err := p.WaitLog(ctx, "session closed"); err != nil {
			t.Fatalf("%s got no BYE: %v", name, err)
		}
		r := record(t, name, p)
		at, score := r.find(t, "room-ended")
		t.Logf("%s (%v): room-ended at %v (%.2f)", name, r.length(), at, score)
		if score < promptMatch || r.length()-at > 3*time.Second {
			t.Errorf("%s did not hear that the room ended before the BYE: match %.2f at %v of %v", name, score, at, r.length())
		}
	}
}
