package join

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v3"
)

// opusPT is the payload type the media engine registers Opus under; the
// answer follows the offer's own number for it (RFC 3264), which is what
// the browser's packets carry.
const opusPT = 111

// loopbackScoped is the UDP socket every browser's ICE and media share. Bound
// to a loopback address it takes datagrams from loopback sources only: a
// host candidate on 127.0.0.1 pairs with the browser's loopback candidate,
// never with one on another interface that happens to route here, so a
// trial or a test keeps all its media on loopback.
type loopbackScoped struct {
	*net.UDPConn
	loopback bool
}

// ReadFrom drops what the socket's scope excludes and returns the rest.
func (c *loopbackScoped) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, from, err := c.UDPConn.ReadFromUDPAddrPort(b)
		if err != nil {
			return n, nil, err
		}
		if c.loopback && !from.Addr().Unmap().IsLoopback() {
			continue
		}
		return n, net.UDPAddrFromAddrPort(from), nil
	}
}

// bindMediaPort binds the shared media port: port when set, else the
// highest free port of [min, max] (the mixer takes its pairs from the
// bottom of the same range, so the two rarely meet, and either skips a port
// the other holds).
func bindMediaPort(addr netip.Addr, port, min, max int) (*loopbackScoped, error) {
	try := func(p int) (*loopbackScoped, error) {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, uint16(p))))
		if err != nil {
			return nil, err
		}
		return &loopbackScoped{UDPConn: c, loopback: addr.Unmap().IsLoopback()}, nil
	}
	if port != 0 {
		c, err := try(port)
		if err != nil {
			return nil, fmt.Errorf("join: binding the browsers' media port %s: %w", netip.AddrPortFrom(addr, uint16(port)), err)
		}
		return c, nil
	}
	if min <= 0 || max < min || max > 65535 {
		return nil, fmt.Errorf("join: want a media port or a port range within 1-65535, got %d-%d", min, max)
	}
	var last error
	for p := max; p >= min; p-- {
		c, err := try(p)
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, fmt.Errorf("join: no free UDP port for browsers' media in %d-%d on %s: %w", min, max, addr, last)
}

// newAPI builds the WebRTC stack every browser leg shares: Opus only,
// ICE-lite on the one host candidate (non-trickle, the answer carries it),
// RTCP reports from pion's interceptors, no mDNS.
func newAPI(cfg Config, udp *loopbackScoped) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	err := me.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"},
		PayloadType:        opusPT,
	}, webrtc.RTPCodecTypeAudio)
	if err != nil {
		return nil, fmt.Errorf("join: registering Opus: %w", err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, fmt.Errorf("join: RTCP reports: %w", err)
	}
	logs := pionLogs{log: cfg.Logger}
	se := webrtc.SettingEngine{LoggerFactory: logs}
	se.SetLite(true)
	se.SetICEUDPMux(webrtc.NewICEUDPMux(logs.NewLogger("udpmux"), udp))
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	if cfg.NATIP != "" {
		ip, err := netip.ParseAddr(cfg.NATIP)
		if err != nil {
			return nil, fmt.Errorf("join: want an IP address for the 1:1 NAT, got %q: %w", cfg.NATIP, err)
		}
		se.SetNAT1To1IPs([]string{ip.String()}, webrtc.ICECandidateTypeHost)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), nil
}

// errNoOpus refuses an offer the mixer cannot take.
var errNoOpus = errors.New("the offer has no audio section with Opus/48000")
