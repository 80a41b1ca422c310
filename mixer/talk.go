package mixer

// Talk detection works on each frame's mean square level with hysteresis: a
// leg starts talking after startTicks frames above talkOn and stops after
// hangTicks frames below talkOff, so pauses between words do not flap the
// state. Levels are mean squares of 16-bit samples: talkOn is about -45 dBov,
// talkOff about -50 dBov; a phone's idle line noise sits near -65 dBov.
const (
	talkOn     = 34000
	talkOff    = 10700
	startTicks = 2  // 40 ms of sound before "talking" is announced
	hangTicks  = 20 // 400 ms of quiet before "stopped"
	// dominantTicks is how long another talker must stay the loudest to
	// take the dominant-speaker role (300 ms).
	dominantTicks = 15
)

type talkState struct {
	talking bool
	loud    int
	quiet   int
	smooth  int64 // level smoothed over ~100 ms, to rank talkers
}

// update feeds one frame's level and reports whether the talking state
// changed. A muted or held leg never counts as talking.
func (t *talkState) update(energy int64, silenced bool) (changed bool) {
	if silenced {
		energy = 0
	}
	t.smooth += (energy - t.smooth) / 5
	switch {
	case energy >= talkOn:
		t.loud++
		t.quiet = 0
	case energy < talkOff:
		t.quiet++
		t.loud = 0
	}
	if !t.talking && t.loud >= startTicks {
		t.talking = true
		return true
	}
	if t.talking && (t.quiet >= hangTicks || silenced) {
		t.talking = false
		t.loud = 0
		return true
	}
	return false
}

// candidate reports whether this frame should be considered for the mix:
// talking (including the hangover) or loud right now, so the first syllable
// is not clipped while the start is being confirmed.
func (t *talkState) candidate(energy int64) bool {
	return t.talking || energy >= talkOn
}
