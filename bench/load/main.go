// Command load measures the whole bridge binary under load, side by side with
// Janus AudioBridge: N participants over rooms of a few talkers and the rest
// comfort noise, 20 ms PCMU or Opus both ways, every leg receiving and
// checking its mix. It reports the server's CPU per participant-frame (from /proc), % of a
// core, RSS, the p50/p99 deviation of the mixed packets' intervals from
// 20 ms (kernel receive times) and loss, in alternating rounds, then medians
// and the bridge/Janus ratio. Everything runs on loopback; the servers are
// child processes, stopped by pid. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"cusax.dev/bridge/internal/procstat"
	"cusax.dev/bridge/mixer/codec"
)

type options struct {
	counts   []int
	roomSize int
	talkers  int
	warmup   time.Duration
	measure  time.Duration
	rounds   int
	systems  []string
	bridge   string
	janus    string
	setup    int
	media    media
}

func main() {
	var o options
	var counts, systems string
	flag.StringVar(&counts, "n", "100,300", "participant counts, comma-separated")
	flag.IntVar(&o.roomSize, "room", 10, "participants per room")
	flag.IntVar(&o.talkers, "talkers", 3, "talkers per room; the rest send comfort noise")
	flag.DurationVar(&o.warmup, "warmup", 3*time.Second, "media before measuring")
	flag.DurationVar(&o.measure, "measure", 10*time.Second, "measuring window")
	flag.IntVar(&o.rounds, "rounds", 2, "alternating rounds per count")
	flag.StringVar(&systems, "systems", "bridge,janus", "systems to measure, in this order each round: bridge, janus, or label=path for another bridge binary, with flags of its own after the path (e.g. before=/tmp/bridge-old, own='bin/bridge --rtp-legs-per-port 1')")
	flag.StringVar(&o.bridge, "bridge", "bin/bridge", "the bridge binary")
	flag.StringVar(&o.janus, "janus", "janus", "the Janus binary")
	flag.IntVar(&o.setup, "setup-parallel", 16, "calls set up at once")
	codecName := flag.String("codec", "pcmu", "codec of every leg: pcmu or opus")
	flag.Parse()
	switch *codecName {
	case "pcmu":
		o.media = pcmu
	case "opus":
		o.media = opus
	default:
		fmt.Fprintf(os.Stderr, "load: -codec wants pcmu or opus, got %q\n", *codecName)
		os.Exit(2)
	}
	for _, s := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "load: -n wants positive counts, got %q\n", s)
			os.Exit(2)
		}
		o.counts = append(o.counts, n)
	}
	o.systems = strings.Split(systems, ",")
	if slices.Contains(o.systems, "janus") {
		if _, err := exec.LookPath(o.janus); err != nil {
			if os.Getenv("CI") == "true" {
				fmt.Fprintln(os.Stderr, "load: janus is not installed (scripts/install-peers.sh installs it)")
				os.Exit(1)
			}
			fmt.Fprintln(os.Stderr, "load: janus is not installed (scripts/install-peers.sh installs it); measuring the bridge alone")
			o.systems = slices.DeleteFunc(o.systems, func(s string) bool { return s == "janus" })
		}
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

// result is one round of one system at one count.
type result struct {
	system      string
	n           int
	cpuPerPF    float64 // µs of server CPU per participant-frame
	core        float64 // % of one core
	rssMB       float64
	wakePerPF   float64 // server context switches (all threads) per participant-frame
	p50, p99    float64 // ms
	loss        float64 // fraction of expected packets not received
	pps         float64 // mean packets a second per leg
	hearing     int     // legs that heard a talker in most frames
	checking    int     // legs that checked what they heard
	legs        int
	stray       int64
	setupSecond float64
	load        string  // the machine's load average before the round
	genCore     float64 // the generator's own CPU, % of one core
	lateTicks   float64 // % of the bridge's room ticks that started over 5 ms late
	tickWallUs  float64 // the bridge's mean wall time per room tick, µs
}

func run(ctx context.Context, o options) error {
	dir, err := os.MkdirTemp("", "bench-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fmt.Printf("load: rooms of %d, %d talkers, %s 20 ms, %v warm-up, %v measured, %d rounds, nice %d, %s\n",
		o.roomSize, o.talkers, o.media.name, o.warmup, o.measure, o.rounds, niceness(), strings.Join(o.systems, " and "))
	fmt.Println("system  N      µs CPU/part-frame  % core  RSS MB  switches/part-frame  p50 ms  p99 ms  loss %   pkt/s/leg  hearing  setup s  late ticks %  µs/room tick  generator % core  load before")
	var all []result
	for _, n := range o.counts {
		for round := range o.rounds {
			for _, sys := range o.systems {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				r, err := oneRound(ctx, o, sys, n, fmt.Sprintf("%s/%d-%d-%d", dir, len(all), n, round))
				if err != nil {
					return fmt.Errorf("%s, N=%d, round %d: %w", sys, n, round+1, err)
				}
				all = append(all, r)
				fmt.Printf("%-7s %-6d %17.2f  %6.1f  %6.1f  %19.3f  %6.2f  %6.2f  %6.3f  %9.2f  %4d/%-4d %6.1f  %12.2f  %12.1f  %16.1f  %s\n",
					r.system, r.n, r.cpuPerPF, r.core, r.rssMB, r.wakePerPF, r.p50, r.p99, 100*r.loss, r.pps, r.hearing, r.checking, r.setupSecond, r.lateTicks, r.tickWallUs, r.genCore, r.load)
				if r.stray > 0 {
					fmt.Printf("        (%d packets came from no port the server gave a leg)\n", r.stray)
				}
			}
		}
	}
	fmt.Println("\nmedians over rounds")
	fmt.Println("N      system  µs CPU/part-frame  % core  RSS MB  switches/part-frame  p99 ms  loss %   CPU ratio to janus")
	for _, n := range o.counts {
		med := map[string]float64{}
		for _, sys := range o.systems {
			sys, _, _ = strings.Cut(sys, "=")
			var rs []result
			for _, r := range all {
				if r.system == sys && r.n == n {
					rs = append(rs, r)
				}
			}
			m := func(f func(result) float64) float64 {
				v := make([]float64, len(rs))
				for i, r := range rs {
					v[i] = f(r)
				}
				return median(v)
			}
			med[sys] = m(func(r result) float64 { return r.cpuPerPF })
			ratio := ""
			if sys == "janus" {
				for _, b := range o.systems {
					b, _, _ = strings.Cut(b, "=")
					if b != "janus" && med[b] > 0 {
						ratio += fmt.Sprintf("%s %.2f× ", b, med[b]/med["janus"])
					}
				}
			}
			fmt.Printf("%-6d %-7s %17.2f  %6.1f  %6.1f  %19.3f  %6.2f  %6.3f   %s\n", n, sys, med[sys],
				m(func(r result) float64 { return r.core }), m(func(r result) float64 { return r.rssMB }),
				m(func(r result) float64 { return r.wakePerPF }),
				m(func(r result) float64 { return r.p99 }), 100*m(func(r result) float64 { return r.loss }), ratio)
		}
	}
	return nil
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

func oneRound(ctx context.Context, o options, sys string, n int, dir string) (result, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return result{}, err
	}
	load := loadAverage()
	var srv server
	var err error
	switch sys {
	case "bridge":
		srv, err = startBridge(ctx, o.bridge, nil, dir, o.media)
	case "janus":
		srv, err = startJanus(ctx, o.janus, dir, o.media)
	default:
		label, cmd, ok := strings.Cut(sys, "=")
		args := strings.Fields(cmd)
		if !ok || len(args) == 0 {
			return result{}, fmt.Errorf("unknown system %q (want bridge, janus or label=path [flags])", sys)
		}
		sys = label
		srv, err = startBridge(ctx, args[0], args[1:], dir, o.media)
	}
	if err != nil {
		return result{}, err
	}
	defer srv.stop()
	talk, noise, err := audio(o.media)
	if err != nil {
		return result{}, err
	}

	// Legs, their generator sockets and their calls.
	legs := make([]*leg, n)
	groups := make([]*group, groupCount(n, o.roomSize))
	for i := range groups {
		g, err := newGroup(o.media)
		if err != nil {
			return result{}, err
		}
		defer g.conn.Close()
		groups[i] = g
		go g.receive()
	}
	for i := range legs {
		l := &leg{talker: i%o.roomSize < o.talkers, ssrc: uint32(i + 1), frames: &noise}
		if l.talker {
			l.frames = &talk
		}
		if o.media.name == pcmu.name || i%opusCheckEvery == 0 {
			if l.check, err = codec.NewDecoder(o.media.name); err != nil {
				return result{}, err
			}
		}
		legs[i] = l
	}
	start := time.Now()
	err = parallel(ctx, n, o.setup, func(ctx context.Context, i int) error {
		g := groups[i%len(groups)]
		addr, err := srv.join(ctx, fmt.Sprintf("load%d", i/o.roomSize), g.local)
		legs[i].server = addr
		return err
	})
	setup := time.Since(start)
	defer func() {
		lctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.leaveAll(lctx)
	}()
	if err != nil {
		return result{}, err
	}
	for i, l := range legs {
		groups[i%len(groups)].add(l)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, g := range groups {
		wg.Add(1)
		go func() { defer wg.Done(); g.send(stop) }()
	}
	defer func() { close(stop); wg.Wait() }()

	select {
	case <-time.After(o.warmup):
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
	for _, g := range groups {
		g.startMeasuring()
	}
	cpu0, err := procstat.CPU(srv.pid())
	if err != nil {
		return result{}, err
	}
	sw0 := procstat.Switches(srv.pid())
	gen0, _ := procstat.CPU(os.Getpid())
	mt, _ := srv.(interface {
		mixerTicks() (ticks, late, seconds float64, err error)
	})
	var t0n, l0n, s0n float64
	if mt != nil {
		t0n, l0n, s0n, _ = mt.mixerTicks()
	}
	t0 := time.Now()
	select {
	case <-time.After(o.measure):
	case <-ctx.Done():
		return result{}, ctx.Err()
	}
	cpu1, err := procstat.CPU(srv.pid())
	if err != nil {
		return result{}, err
	}
	sw1 := procstat.Switches(srv.pid())
	gen1, _ := procstat.CPU(os.Getpid())
	var t1n, l1n, s1n float64
	if mt != nil {
		t1n, l1n, s1n, _ = mt.mixerTicks()
	}
	elapsed := time.Since(t0)
	for _, g := range groups {
		g.stopMeasuring()
	}
	rss, err := procstat.RSS(srv.pid())
	if err != nil {
		return result{}, err
	}

	r := result{system: sys, n: n, legs: n, rssMB: float64(rss) / (1 << 20), setupSecond: setup.Seconds(), load: load}
	frames := float64(n) * elapsed.Seconds() / frame.Seconds()
	r.cpuPerPF = (cpu1 - cpu0).Seconds() * 1e6 / frames
	r.core = 100 * (cpu1 - cpu0).Seconds() / elapsed.Seconds()
	r.wakePerPF = float64(sw1-sw0) / frames
	r.genCore = 100 * (gen1 - gen0).Seconds() / elapsed.Seconds()
	if t1n > t0n {
		r.lateTicks = 100 * (l1n - l0n) / (t1n - t0n)
		r.tickWallUs = 1e6 * (s1n - s0n) / (t1n - t0n)
	}
	var h histogram
	var got, lost int64
	for _, g := range groups {
		g.mu.Lock()
		h.merge(&g.hist)
		r.stray += g.stray
		for _, l := range g.legs {
			st := l.stats
			got += st.got
			if st.got == 0 {
				lost += int64(elapsed / frame)
				continue
			}
			// Expected: what the sequence numbers span, or what 20 ms
			// pacing owes over the window if more (a server that skips
			// ticks leaves no gap in its sequence numbers).
			exp := max(int64(st.lastSeq-st.firstSeq)+1, int64(elapsed/frame)-1)
			if exp > st.got {
				lost += exp - st.got
			}
			if l.check != nil {
				r.checking++
				if st.loud*2 > st.checked {
					r.hearing++
				}
			}
		}
		g.mu.Unlock()
	}
	r.p50, r.p99 = h.quantile(0.5), h.quantile(0.99)
	if got+lost > 0 {
		r.loss = float64(lost) / float64(got+lost)
	}
	r.pps = float64(got) / float64(n) / elapsed.Seconds()
	return r, nil
}

// parallel runs f(0..n-1) with at most width at once; the first error
// cancels the rest and is returned.
func parallel(ctx context.Context, n, width int, f func(context.Context, int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, width)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(ctx, i); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// niceness is the generator's nice value, which the servers inherit: a
// shared machine's other work competes less with `nice -n -10 make
// bench-load` (as root).
func niceness() int {
	// getpriority(2) returns 20 - nice.
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0)
	if err != nil {
		return 0
	}
	return 20 - p
}

// loadAverage is the machine's 1-minute load average: other work on a
// shared machine shows in the intervals, and the report says how much there was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
