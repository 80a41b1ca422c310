package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is a system under test: it starts, admits n participants and
// tells the generator where each one's RTP goes, and stops.
type server interface {
	name() string
	pid() int
	// join adds one participant to room, whose mix goes to rtp; it returns
	// the server's RTP address for it.
	join(ctx context.Context, room string, rtp netip.AddrPort) (netip.AddrPort, error)
	// leaveAll ends every participant (bounded by ctx).
	leaveAll(ctx context.Context)
	stop()
}

// process is a child process the benchmark started; stop ends it, by pid.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startProcess(logPath string, name string, args ...string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logf.Close(); close(p.done) }()
	return p, nil
}

func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func freePort(network string) (int, error) {
	switch network {
	case "udp":
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	default:
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
}

// logTail is the end of a server's log, for an error message.
func logTail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 600 {
		b = b[len(b)-600:]
	}
	return strings.TrimSpace(string(b))
}

// waitHTTP polls url until it answers 200 or ctx ends.
func waitHTTP(ctx context.Context, url string, exited <-chan struct{}) error {
	for {
		res, err := http.Get(url)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer 200: %w", url, ctx.Err())
		case <-exited:
			return fmt.Errorf("the server exited before %s answered", url)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// bridge is bin/bridge with only its SIP face (no --xmpp-secret).
type bridge struct {
	metrics string // the ops server's /metrics URL
	proc    *process
	phones  *phones
	mu      sync.Mutex
	calls   []*call
}

// startBridge starts the bridge, trying again on fresh ports if it could
// not bind the ones picked (another process may take a port between the
// pick and the bind: the machine is shared). extra are flags of the run's
// own, after the generator's (a later flag wins).
func startBridge(ctx context.Context, bin string, extra []string, dir string, m media) (*bridge, error) {
	var err error
	for attempt := range 3 {
		var b *bridge
		if b, err = startBridgeOnce(ctx, bin, extra, filepath.Join(dir, strconv.Itoa(attempt)), m); err == nil {
			return b, nil
		}
	}
	return nil, err
}

func startBridgeOnce(ctx context.Context, bin string, extra []string, dir string, m media) (*bridge, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sipPort, err := freePort("udp")
	if err != nil {
		return nil, err
	}
	httpPort, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--sip-listen", "127.0.0.1:" + strconv.Itoa(sipPort), "--sip-domain", "127.0.0.1",
		"--rtp-address", "127.0.0.1", "--rtp-ports", "20000-29999",
		"--http-listen", "127.0.0.1:" + strconv.Itoa(httpPort), "--data-dir", filepath.Join(dir, "data"),
		"--invite-rate", "0", "--join-tones-up-to", "0", "--log-level", "warn"}, extra...)
	proc, err := startProcess(filepath.Join(dir, "bridge.log"), bin, args...)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := waitHTTP(wctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPort), proc.done); err != nil {
		proc.stop()
		return nil, fmt.Errorf("bridge: %w; its log ends: %s", err, logTail(filepath.Join(dir, "bridge.log")))
	}
	ph, err := newPhones(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sipPort)), "127.0.0.1", m)
	if err != nil {
		proc.stop()
		return nil, err
	}
	return &bridge{proc: proc, phones: ph, metrics: fmt.Sprintf("http://127.0.0.1:%d/metrics", httpPort)}, nil
}

// mixerTicks reads the mixer's own view of its clock from /metrics: room
// ticks, those that started over 5 ms late, and their summed run time.
func (b *bridge) mixerTicks() (ticks, late, seconds float64, err error) {
	res, err := http.Get(b.metrics)
	if err != nil {
		return 0, 0, 0, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, 0, 0, err
	}
	for _, line := range strings.Split(string(body), "\n") {
		name, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		switch name {
		case "bridge_mixer_tick_seconds_count":
			ticks = f
		case "bridge_mixer_tick_seconds_sum":
			seconds = f
		case "bridge_mixer_late_ticks_total":
			late = f
		}
	}
	return ticks, late, seconds, nil
}

func (b *bridge) name() string { return "bridge" }
func (b *bridge) pid() int     { return b.proc.cmd.Process.Pid }

func (b *bridge) join(ctx context.Context, room string, rtp netip.AddrPort) (netip.AddrPort, error) {
	c, err := b.phones.dial(ctx, room, rtp)
	if err != nil {
		return netip.AddrPort{}, err
	}
	b.mu.Lock()
	b.calls = append(b.calls, c)
	b.mu.Unlock()
	return c.media, nil
}

func (b *bridge) leaveAll(ctx context.Context) {
	b.mu.Lock()
	calls := b.calls
	b.calls = nil
	b.mu.Unlock()
	parallel(ctx, len(calls), 32, func(ctx context.Context, i int) error { return b.phones.hangUp(ctx, calls[i]) })
}

func (b *bridge) stop() {
	b.phones.close()
	b.proc.stop()
}

// janus is Janus with only its AudioBridge plugin and HTTP transport, on
// loopback, with a configuration folder of its own; participants are plain
// RTP ("rtp" in the join request).
type janus struct {
	media   media
	proc    *process
	base    string // http://127.0.0.1:port/janus
	session int64
	mu      sync.Mutex
	rooms   map[string]int64
	handles []int64
	events  *janusEvents
	stopLP  context.CancelFunc
}

func startJanus(ctx context.Context, bin, dir string, m media) (*janus, error) {
	httpPort, err := freePort("tcp")
	if err != nil {
		return nil, err
	}
	cfgDir := filepath.Join(dir, "janus")
	if err := writeJanusConfig(cfgDir, httpPort); err != nil {
		return nil, err
	}
	proc, err := startProcess(filepath.Join(dir, "janus.log"), bin, "-F", cfgDir, "-C", filepath.Join(cfgDir, "janus.jcfg"), "-d", "3")
	if err != nil {
		return nil, err
	}
	j := &janus{media: m, proc: proc, base: fmt.Sprintf("http://127.0.0.1:%d/janus", httpPort), rooms: map[string]int64{}, events: newJanusEvents()}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := waitHTTP(wctx, j.base+"/info", proc.done); err != nil {
		proc.stop()
		return nil, fmt.Errorf("janus: %w; its log ends: %s", err, logTail(filepath.Join(dir, "janus.log")))
	}
	var res struct {
		Data struct{ ID int64 } `json:"data"`
	}
	if err := j.post(ctx, "", map[string]any{"janus": "create"}, &res); err != nil {
		proc.stop()
		return nil, err
	}
	j.session = res.Data.ID
	lctx, stopLP := context.WithCancel(context.Background())
	j.stopLP = stopLP
	go j.longPoll(lctx)
	return j, nil
}

// writeJanusConfig writes a configuration that loads AudioBridge and the
// HTTP transport only, both on 127.0.0.1.
func writeJanusConfig(dir string, httpPort int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	libs := "/usr/lib/x86_64-linux-gnu/janus"
	others := func(sub, keep string) string {
		ents, _ := os.ReadDir(filepath.Join(libs, sub))
		var out []string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".so") && e.Name() != keep {
				out = append(out, e.Name())
			}
		}
		return strings.Join(out, ",")
	}
	files := map[string]string{
		"janus.jcfg": fmt.Sprintf(`general: {
	configs_folder = "%s"
	plugins_folder = "%s/plugins"
	transports_folder = "%s/transports"
	events_folder = "%s/events"
	loggers_folder = "%s/loggers"
	debug_level = 3
	session_timeout = 0
}
media: {
	rtp_port_range = "10000-19999"
}
nat: {
	ice_enforce_list = "127.0.0.1"
}
plugins: {
	disable = "%s"
}
transports: {
	disable = "%s"
}
loggers: {
	disable = "%s"
}
events: {
	broadcast = false
}
`, dir, libs, libs, libs, libs, others("plugins", "libjanus_audiobridge.so"), others("transports", "libjanus_http.so"), others("loggers", "")),
		"janus.transport.http.jcfg": fmt.Sprintf(`general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = %d
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
}
`, httpPort),
		"janus.plugin.audiobridge.jcfg": `general: {
	rtp_port_range = "10000-19999"
	local_ip = "127.0.0.1"
}
`,
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (j *janus) name() string { return "janus" }
func (j *janus) pid() int     { return j.proc.cmd.Process.Pid }

// post sends one Janus API request and decodes its synchronous answer,
// which must not be an error.
func (j *janus) post(ctx context.Context, path string, body map[string]any, out any) error {
	body["transaction"] = token()
	raw, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.base+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("janus %v: %w", body["janus"], err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	var head struct {
		Janus string
		Error *struct {
			Code   int
			Reason string
		}
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("janus %v: want JSON, got %q", body["janus"], data)
	}
	if head.Error != nil || (head.Janus != "success" && head.Janus != "ack") {
		return fmt.Errorf("janus %v: want success, got %s", body["janus"], data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// janusEvents hands asynchronous plugin events to whoever waits for them,
// by transaction.
type janusEvents struct {
	mu      sync.Mutex
	waiting map[string]chan json.RawMessage
}

func newJanusEvents() *janusEvents {
	return &janusEvents{waiting: map[string]chan json.RawMessage{}}
}

func (e *janusEvents) expect(tx string) chan json.RawMessage {
	ch := make(chan json.RawMessage, 1)
	e.mu.Lock()
	e.waiting[tx] = ch
	e.mu.Unlock()
	return ch
}

func (e *janusEvents) deliver(tx string, data json.RawMessage) {
	e.mu.Lock()
	ch := e.waiting[tx]
	delete(e.waiting, tx)
	e.mu.Unlock()
	if ch != nil {
		ch <- data
	}
}

func (j *janus) longPoll(ctx context.Context) {
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/%d?maxev=100", j.base, j.session), nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var evs []struct {
			Janus       string
			Transaction string
			Plugindata  struct {
				Data json.RawMessage
			}
		}
		if json.Unmarshal(data, &evs) != nil {
			continue
		}
		for _, ev := range evs {
			if ev.Janus == "event" && ev.Transaction != "" {
				j.events.deliver(ev.Transaction, ev.Plugindata.Data)
			}
		}
	}
}

func (j *janus) attach(ctx context.Context) (int64, error) {
	var res struct {
		Data struct{ ID int64 } `json:"data"`
	}
	if err := j.post(ctx, fmt.Sprintf("/%d", j.session), map[string]any{"janus": "attach", "plugin": "janus.plugin.audiobridge"}, &res); err != nil {
		return 0, err
	}
	return res.Data.ID, nil
}

// room creates the AudioBridge room for name once, mixing at the rate the
// bridge mixes that codec at.
func (j *janus) room(ctx context.Context, name string, handle int64) (int64, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if id, ok := j.rooms[name]; ok {
		return id, nil
	}
	id := int64(len(j.rooms) + 1)
	var res struct {
		Plugindata struct {
			Data struct {
				Audiobridge string
				Error       string
			}
		}
	}
	body := map[string]any{"request": "create", "room": id, "sampling_rate": j.media.mixRate(), "audiolevel_event": false, "record": false, "allow_rtp_participants": true}
	if err := j.post(ctx, fmt.Sprintf("/%d/%d", j.session, handle), map[string]any{"janus": "message", "body": body}, &res); err != nil {
		return 0, err
	}
	if res.Plugindata.Data.Audiobridge != "created" {
		return 0, fmt.Errorf("janus: create room: want created, got %+v", res.Plugindata.Data)
	}
	j.rooms[name] = id
	return id, nil
}

func (j *janus) join(ctx context.Context, room string, rtp netip.AddrPort) (netip.AddrPort, error) {
	h, err := j.attach(ctx)
	if err != nil {
		return netip.AddrPort{}, err
	}
	id, err := j.room(ctx, room, h)
	if err != nil {
		return netip.AddrPort{}, err
	}
	tx := token()
	ch := j.events.expect(tx)
	body := map[string]any{"request": "join", "room": id, "display": "load", "codec": strings.ToLower(j.media.name),
		"rtp": map[string]any{"ip": rtp.Addr().String(), "port": rtp.Port(), "payload_type": j.media.pt}}
	raw, _ := json.Marshal(map[string]any{"janus": "message", "transaction": tx, "body": body})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/%d/%d", j.base, j.session, h), bytes.NewReader(raw))
	if err != nil {
		return netip.AddrPort{}, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("janus join: %w", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	var ev struct {
		Audiobridge string
		Error       string
		RTP         struct {
			IP   string
			Port int
		} `json:"rtp"`
	}
	select {
	case data := <-ch:
		if err := json.Unmarshal(data, &ev); err != nil || ev.Audiobridge != "joined" {
			return netip.AddrPort{}, fmt.Errorf("janus join: want joined, got %s", data)
		}
	case <-time.After(10 * time.Second):
		return netip.AddrPort{}, errors.New("janus join: no event in 10 s")
	case <-ctx.Done():
		return netip.AddrPort{}, ctx.Err()
	}
	ip, err := netip.ParseAddr(ev.RTP.IP)
	if err != nil || ev.RTP.Port <= 0 || ev.RTP.Port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("janus join: want the RTP address, got %q port %d", ev.RTP.IP, ev.RTP.Port)
	}
	j.mu.Lock()
	j.handles = append(j.handles, h)
	j.mu.Unlock()
	return netip.AddrPortFrom(ip, uint16(ev.RTP.Port)), nil
}

func (j *janus) leaveAll(ctx context.Context) {
	j.mu.Lock()
	hs := j.handles
	j.handles = nil
	j.mu.Unlock()
	parallel(ctx, len(hs), 32, func(ctx context.Context, i int) error {
		return j.post(ctx, fmt.Sprintf("/%d/%d", j.session, hs[i]), map[string]any{"janus": "detach"}, nil)
	})
}

func (j *janus) stop() {
	j.stopLP()
	j.proc.stop()
}
