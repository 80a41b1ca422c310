package sync_test

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zaf/g711"

	confinfo "cusax.dev/bridge/conference-info"
	"cusax.dev/bridge/focus"
	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/internal/testpeer"
	"cusax.dev/bridge/muc"
	"cusax.dev/bridge/muc/muctest"
	"cusax.dev/bridge/sync/synctest"
)

// capture records UDP on loopback in a port range with tshark until stop.
type capture struct {
	cmd  *exec.Cmd
	file string
}

func startCapture(t *testing.T, low, high int) *capture {
	t.Helper()
	bin := testpeer.Need(t, "tshark")[0]
	c := &capture{file: filepath.Join(t.TempDir(), "lo.pcap")}
	c.cmd = exec.Command(bin, "-i", "lo", "-q", "-f", "udp portrange "+strconv.Itoa(low)+"-"+strconv.Itoa(high), "-w", c.file)
	stderr, _ := c.cmd.StderrPipe()
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("tshark: %v", err)
	}
	started := make(chan struct{})
	go func() {
		s := bufio.NewScanner(stderr)
		once := false
		for s.Scan() {
			if !once && strings.Contains(s.Text(), "Capturing on") {
				once = true
				close(started)
			}
		}
	}()
	select {
	case <-started:
	case <-time.After(15 * time.Second):
		t.Fatal("tshark did not start capturing")
	}
	t.Cleanup(func() { c.stop() })
	return c
}

func (c *capture) stop() {
	if c.cmd.ProcessState == nil {
		_ = c.cmd.Process.Signal(syscall.SIGINT)
		_ = c.cmd.Wait()
	}
}

// pcmuTone decodes the captured UDP payloads that filter (a tshark display
// filter on udp ports) selects as PCMU RTP (12-byte header) and measures
// freq in them: a plain stream of a tone shows it, an SRTP one is noise.
func (c *capture) pcmuTone(t *testing.T, filter string, freq float64) (float64, int) {
	t.Helper()
	out, err := exec.Command("tshark", "-r", c.file, "-T", "fields", "-e", "data.data",
		"-Y", filter+" && data.len > 100").Output()
	if err != nil {
		t.Fatalf("reading the capture: %v", err)
	}
	var pcm []int16
	n := 0
	for _, line := range strings.Fields(string(out)) {
		b, err := hex.DecodeString(line)
		if err != nil || len(b) < 12+160 {
			continue
		}
		n++
		for _, u := range b[12 : 12+160] {
			pcm = append(pcm, g711.DecodeUlawFrame(u))
		}
	}
	return testpeer.ToneAmplitude(pcm, freq, 8000), n
}

var receivingFrom = regexp.MustCompile(`receiving from 127\.0\.0\.1:(\d+)`)

// bridgePort is the bridge's RTP port of a baresip's call, from its log.
func bridgePort(t *testing.T, p *focustest.Baresip) int {
	t.Helper()
	var m []string
	synctest.WaitFor(t, "baresip receiving media", func() bool {
		m = receivingFrom.FindStringSubmatch(p.Log())
		return m != nil
	})
	port, _ := strconv.Atoi(m[1])
	return port
}

func configureRoom(t *testing.T, mod *muctest.Client, roomJID, id, field, value string) {
	t.Helper()
	form := `<x xmlns='jabber:x:data' type='submit'><field var='FORM_TYPE'><value>http://jabber.org/protocol/muc#roomconfig</value></field>` +
		`<field var='` + field + `'><value>` + value + `</value></field></x>`
	if res := mod.IQ(id, synctest.OwnerIQ(id, roomJID, form)); res.Attr("type") != "result" {
		t.Fatalf("configuring %s=%s: %s", field, value, res.Raw)
	}
}

// TestE2EMediaSecurity is issue 16's acceptance 1 to 3 with real peers: a
// baresip phone with mandatory SRTP over TLS and a plain one hear each
// other, a capture shows no PCMU in the clear on the SRTP leg (and shows it
// on the plain one, so the check can see), both faces mark each leg's
// security, an encrypted-only room refuses the plain caller with 488, and
// SDES keys offered over UDP are refused.
func TestE2EMediaSecurity(t *testing.T) {
	ca, cert, key := testpeer.CA(t)
	tlsAddr := "127.0.0.1:" + strconv.Itoa(testpeer.FreeTCPPort(t))
	const low = 54400
	st, ctx := e2e(t, synctest.Options{PortMin: low, Focus: func(c *focus.Config) {
		c.TLSListen, c.TLSCert, c.TLSKey = tlsAddr, cert, key
	}})
	mod := joinAsModerator(t, st, "secure")
	roomJID := st.RoomJID("secure")

	// An encrypted-only room refuses a plain call with 488 and says why.
	configureRoom(t, mod, roomJID, "c1", muc.FieldEncryptedMedia, "1")
	early := focustest.StartBaresip(t, focustest.BaresipOptions{User: "early", Play: toneWAV(t, 700, 60)})
	if err := early.Dial(ctx, st.RoomURI("secure")); err != nil {
		t.Fatal(err)
	}
	if err := early.WaitLog(ctx, "488"); err != nil {
		t.Fatalf("a plain caller to an encrypted-only room was not refused with 488: %v\n%s", err, early.Log())
	}
	if !strings.Contains(early.Log(), "encrypted") {
		t.Errorf("the 488 does not say why:\n%s", early.Log())
	}
	// SDES keys over plain UDP signalling are refused: no protection.
	clear := focustest.StartBaresip(t, focustest.BaresipOptions{User: "clear", Play: toneWAV(t, 700, 60), SRTP: true})
	if err := clear.Dial(ctx, st.RoomURI("secure")); err != nil {
		t.Fatal(err)
	}
	if err := clear.WaitLog(ctx, "488"); err != nil {
		t.Fatalf("SDES over UDP was not refused with 488: %v\n%s", err, clear.Log())
	}
	configureRoom(t, mod, roomJID, "c2", muc.FieldEncryptedMedia, "0")

	capt := startCapture(t, low, low+399)
	mark := mod.Mark()
	alice := focustest.StartBaresip(t, focustest.BaresipOptions{User: "alice", Play: toneWAV(t, 1000, 60), CAFile: ca, SRTP: true})
	bob := focustest.StartBaresip(t, focustest.BaresipOptions{User: "bob", Play: toneWAV(t, 440, 60)})
	if err := alice.Dial(ctx, "sip:secure@"+tlsAddr+";transport=tls"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Dial(ctx, st.RoomURI("secure")); err != nil {
		t.Fatal(err)
	}
	synctest.WaitFor(t, "two connected legs", func() bool {
		legs := st.Focus.Legs("secure")
		return len(legs) == 2 && legs[0].State == "connected" && legs[1].State == "connected"
	})
	alicePort, bobPort := bridgePort(t, alice), bridgePort(t, bob)

	// The chat face: each phone's occupant carries its security level.
	for _, want := range []struct{ nick, signalling, media, status string }{
		{"alice", "tls", "srtp", "(encrypted)"}, {"bob", "plain", "rtp", "(not encrypted)"},
	} {
		p := mod.WaitFor(mark, want.nick+"'s phone occupant", phonePresence(roomJID+"/"+want.nick))
		ph := p.Find(muc.NSBridge, "phone")
		if ph.Attr("signalling") != want.signalling || ph.Attr("media") != want.media || !strings.Contains(p.Raw, want.status) {
			t.Errorf("%s's presence: want signalling %s, media %s and %q, got %s", want.nick, want.signalling, want.media, want.status, p.Raw)
		}
	}
	info, err := mod.Disco(roomJID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(info.Raw, muc.FieldMediaSecurity) || !strings.Contains(info.Raw, "<value>mixed</value>") {
		t.Errorf("disco#info does not sum the room up as mixed: %s", info.Raw)
	}
	// The audio face: conference-info marks each endpoint's media.
	w := focustest.NewWatcher(t, st.Focus.Addr(), "secure")
	if code, err := w.Subscribe(ctx, 600); err != nil || code != 200 {
		t.Fatalf("SUBSCRIBE: %d %v", code, err)
	}
	w.WaitFor("both endpoints with their security", func(doc *confinfo.Info, _ []focustest.Notify) bool {
		got := map[string]int{}
		for _, l := range st.Focus.Legs("secure") {
			if _, e, ok := focustest.Endpoint(doc, l.CallID); ok && len(e.Media) > 0 {
				sig, media, _ := confinfo.MediaSecurity(e.Media[0])
				got[sig+"/"+media]++
			}
		}
		return got["tls/srtp"] == 1 && got["plain/rtp"] == 1
	})

	// Acceptance 4: a tampered SRTP packet, sent as if from alice's phone
	// (raw socket, root only), is dropped and counted, and the call goes
	// on (the recordings below cover the time after it).
	var phoneRTP, bobRTP, aliceLeg netip.AddrPort
	for _, l := range st.Focus.Legs("secure") {
		if l.Media == focus.MediaSRTP {
			phoneRTP = l.Remote
		} else {
			bobRTP = l.Remote
		}
	}
	aliceLeg = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(alicePort))
	before := droppedSRTP(t, st)
	tampered := make([]byte, 12+160+10)
	tampered[0], tampered[1] = 0x80, 0 // RTP v2, PCMU: a plausible packet whose tag is wrong
	for i := 0; i < 5; i++ {
		binary.BigEndian.PutUint16(tampered[2:], uint16(40000+i))
		if err := spoofUDP(phoneRTP, aliceLeg, tampered); err != nil {
			t.Fatalf("sending a tampered packet as %s: %v", phoneRTP, err)
		}
	}
	synctest.WaitFor(t, "the tampered packets counted", func() bool { return droppedSRTP(t, st) >= before+5 })

	time.Sleep(4 * time.Second) // audio to record and capture
	capt.stop()
	for _, p := range []*focustest.Baresip{alice, bob} {
		if err := p.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	synctest.WaitFor(t, "recordings", func() bool { return len(alice.Recordings()) > 0 && len(bob.Recordings()) > 0 })
	time.Sleep(300 * time.Millisecond)
	heardBy := func(p *focustest.Baresip, freq float64) float64 {
		rate, samples, err := testpeer.ReadWAV(p.Recordings()[0])
		if err != nil {
			t.Fatal(err)
		}
		return testpeer.ToneAmplitude(samples, freq, rate)
	}
	a440, b1000 := heardBy(alice, 440), heardBy(bob, 1000)
	t.Logf("alice (SRTP over TLS) hears 440 Hz at %.3f; bob (plain) hears 1000 Hz at %.3f", a440, b1000)
	if a440 < 0.05 || b1000 < 0.05 {
		t.Errorf("the two phones do not hear each other: alice %.3f, bob %.3f", a440, b1000)
	}

	// On the wire: the plain leg's PCMU carries the tones in the clear, the
	// SRTP leg's does not. The two legs may share the bridge's port, so
	// each is told apart by its phone's port.
	// What the bridge sends bob carries alice's 1000 Hz; both directions of
	// alice's leg are checked.
	plain1000, nb := capt.pcmuTone(t, "udp.dstport == "+strconv.Itoa(int(bobRTP.Port())), 1000)
	srtp1000, na := capt.pcmuTone(t, "udp.port == "+strconv.Itoa(int(phoneRTP.Port())), 1000)
	srtp440, _ := capt.pcmuTone(t, "udp.port == "+strconv.Itoa(int(phoneRTP.Port())), 440)
	t.Logf("captured %d packets on the SRTP leg (phone port %d, bridge port %d), %d on the plain one (phone port %d, bridge port %d); as PCMU: SRTP leg 1000 Hz %.3f, 440 Hz %.3f; plain leg 1000 Hz %.3f",
		na, phoneRTP.Port(), alicePort, nb, bobRTP.Port(), bobPort, srtp1000, srtp440, plain1000)
	if na < 100 || nb < 50 {
		t.Fatalf("the capture holds %d and %d packets of the two legs, want a few seconds' worth", na, nb)
	}
	if plain1000 < 0.05 {
		t.Errorf("the plain leg's capture shows no tone (%.3f): the check cannot see PCMU", plain1000)
	}
	if srtp1000 > 0.02 || srtp440 > 0.02 {
		t.Errorf("PCMU in the clear on the SRTP leg: 1000 Hz %.3f, 440 Hz %.3f", srtp1000, srtp440)
	}
}

// droppedSRTP reads bridge_mixer_packets_dropped_total{reason="srtp_auth"}.
func droppedSRTP(t *testing.T, st *synctest.Stack) float64 {
	return testpeer.Metric(t, st.Registry, "bridge_mixer_packets_dropped_total", "reason", "srtp_auth")
}

// spoofUDP sends one UDP datagram on loopback with any source address and
// port, through a raw socket (root only): how a test injects a packet as if
// from a peer's own port.
func spoofUDP(src, dst netip.AddrPort, payload []byte) error {
	if os.Geteuid() != 0 {
		return errors.New("a raw socket needs root")
	}
	if !src.Addr().IsLoopback() || !dst.Addr().IsLoopback() {
		return fmt.Errorf("loopback only, got %s -> %s", src, dst)
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	pkt := make([]byte, 20+8+len(payload))
	pkt[0], pkt[8], pkt[9] = 0x45, 64, syscall.IPPROTO_UDP // v4, TTL, UDP; the kernel fills length, ID and checksum
	s4, d4 := src.Addr().As4(), dst.Addr().As4()
	copy(pkt[12:16], s4[:])
	copy(pkt[16:20], d4[:])
	binary.BigEndian.PutUint16(pkt[20:], src.Port())
	binary.BigEndian.PutUint16(pkt[22:], dst.Port())
	binary.BigEndian.PutUint16(pkt[24:], uint16(8+len(payload))) // checksum 0: none (IPv4)
	copy(pkt[28:], payload)
	return syscall.Sendto(fd, pkt, 0, &syscall.SockaddrInet4{Addr: d4})
}
