package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"
)

// phones places and ends SIP calls over one UDP socket, as a trunk would:
// plain SIP (RFC 3261) with an SDP offer of PCMU (RFC 3264), no
// registration.
type phones struct {
	conn   *net.UDPConn
	local  netip.AddrPort
	server netip.AddrPort
	domain string
	media  media

	mu    sync.Mutex
	calls map[string]chan *sip.Response // by Call-ID
}

// call is an established dialog.
type call struct {
	id, fromTag, toTag string
	target             string // the answer's Contact
	cseq               int
	media              netip.AddrPort // the server's RTP address for this call
}

func newPhones(server netip.AddrPort, domain string, m media) (*phones, error) {
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, fmt.Errorf("SIP socket: %w", err)
	}
	_ = c.SetReadBuffer(4 << 20)
	p := &phones{conn: c, local: c.LocalAddr().(*net.UDPAddr).AddrPort(), server: server, domain: domain, media: m, calls: map[string]chan *sip.Response{}}
	go p.read()
	return p, nil
}

func (p *phones) close() { p.conn.Close() }

// read dispatches responses to their calls and answers the server's requests
// (BYE, OPTIONS, session refreshes) with 200 OK.
func (p *phones) read() {
	buf := make([]byte, 65535)
	parser := sip.NewParser()
	for {
		n, from, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		msg, err := parser.ParseSIP(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		switch m := msg.(type) {
		case *sip.Response:
			p.mu.Lock()
			ch := p.calls[m.CallID().Value()]
			p.mu.Unlock()
			if ch != nil {
				select {
				case ch <- m:
				default:
				}
			}
		case *sip.Request:
			if m.Method == sip.ACK {
				continue
			}
			res := sip.NewResponseFromRequest(m, sip.StatusOK, "OK", nil)
			_, _ = p.conn.WriteToUDPAddrPort([]byte(res.String()), from)
		}
	}
}

// request sends one request until a final response comes (retransmitting
// as RFC 3261 section 17.1.1.2 says for UDP, at most a few times) and returns it.
func (p *phones) request(ctx context.Context, id string, cseq int, method sip.RequestMethod, text string) (*sip.Response, error) {
	ch := make(chan *sip.Response, 8)
	p.mu.Lock()
	p.calls[id] = ch
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.calls, id)
		p.mu.Unlock()
	}()
	wait := 500 * time.Millisecond
	for range 6 {
		if _, err := p.conn.WriteToUDPAddrPort([]byte(text), p.server); err != nil {
			return nil, fmt.Errorf("send: %w", err)
		}
		t := time.NewTimer(wait)
	await:
		for {
			select {
			case res := <-ch:
				if cs := res.CSeq(); cs == nil || int(cs.SeqNo) != cseq || cs.MethodName != method {
					continue // a late answer to an earlier attempt
				}
				if res.StatusCode >= 200 {
					t.Stop()
					return res, nil
				}
				wait = 4 * time.Second // provisional: the server has it
			case <-t.C:
				break await
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			}
		}
		wait = min(2*wait, 4*time.Second)
	}
	return nil, errors.New("no final response")
}

func token() string { return strconv.FormatUint(rand.Uint64(), 36) }

// dial calls room with an offer whose media goes to rtp, retrying on 503.
func (p *phones) dial(ctx context.Context, room string, rtp netip.AddrPort) (*call, error) {
	c := &call{id: token() + "@load", fromTag: token(), cseq: 1}
	rtpmap := fmt.Sprintf("%s/%d", p.media.name, p.media.rate)
	if p.media.name == opus.name {
		rtpmap += "/2" // RFC 7587
	}
	sdpBody := fmt.Sprintf("v=0\r\no=load %d 1 IN IP4 127.0.0.1\r\ns=load\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP %d\r\na=rtpmap:%d %s\r\na=ptime:20\r\na=sendrecv\r\n", rand.Uint32()>>1, rtp.Port(), p.media.pt, p.media.pt, rtpmap)
	uri := fmt.Sprintf("sip:%s@%s", room, p.domain)
	for attempt := 0; ; attempt++ {
		branch := "z9hG4bK" + token()
		text := fmt.Sprintf("INVITE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:load@127.0.0.1>;tag=%s\r\nTo: <%s>\r\nCall-ID: %s\r\nCSeq: %d INVITE\r\n"+
			"Contact: <sip:load@%s>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
			uri, p.local, branch, c.fromTag, uri, c.id, c.cseq, p.local, len(sdpBody), sdpBody)
		res, err := p.request(ctx, c.id, c.cseq, sip.INVITE, text)
		if err != nil {
			return nil, fmt.Errorf("INVITE %s: %w", room, err)
		}
		p.ack(c, res, uri, branch)
		if res.StatusCode == sip.StatusServiceUnavailable && attempt < 20 {
			c.cseq++
			select {
			case <-time.After(time.Second):
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if res.StatusCode != sip.StatusOK {
			return nil, fmt.Errorf("INVITE %s: want 200, got %d %s", room, res.StatusCode, res.Reason)
		}
		c.toTag, _ = res.To().Params.Get("tag")
		c.target = uri
		if ct := res.Contact(); ct != nil {
			c.target = ct.Address.String()
		}
		c.media, err = sdpAudio(res.Body())
		if err != nil {
			return nil, fmt.Errorf("INVITE %s: the answer: %w", room, err)
		}
		return c, nil
	}
}

// ack acknowledges a final response to an INVITE (RFC 3261 section 17.1.1.3
// for errors, 13.2.2.4 for 2xx).
func (p *phones) ack(c *call, res *sip.Response, uri, inviteBranch string) {
	target, branch := uri, inviteBranch
	if res.StatusCode == sip.StatusOK {
		branch = "z9hG4bK" + token()
		if ct := res.Contact(); ct != nil {
			target = ct.Address.String()
		}
	}
	to := res.To().String()
	text := fmt.Sprintf("ACK %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:load@127.0.0.1>;tag=%s\r\n%s\r\nCall-ID: %s\r\nCSeq: %d ACK\r\nContent-Length: 0\r\n\r\n",
		target, p.local, branch, c.fromTag, to, c.id, c.cseq)
	_, _ = p.conn.WriteToUDPAddrPort([]byte(text), p.server)
}

// hangUp sends BYE and waits for its answer.
func (p *phones) hangUp(ctx context.Context, c *call) error {
	c.cseq++
	text := fmt.Sprintf("BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\nMax-Forwards: 70\r\n"+
		"From: <sip:load@127.0.0.1>;tag=%s\r\nTo: <sip:x@%s>;tag=%s\r\nCall-ID: %s\r\nCSeq: %d BYE\r\nContent-Length: 0\r\n\r\n",
		c.target, p.local, token(), c.fromTag, p.domain, c.toTag, c.id, c.cseq)
	_, err := p.request(ctx, c.id, c.cseq, sip.BYE, text)
	return err
}

// sdpAudio finds the audio stream's address in an SDP answer.
func sdpAudio(body []byte) (netip.AddrPort, error) {
	var s sdp.SessionDescription
	if err := s.Unmarshal(body); err != nil {
		return netip.AddrPort{}, fmt.Errorf("SDP: %w", err)
	}
	host := ""
	if s.ConnectionInformation != nil && s.ConnectionInformation.Address != nil {
		host = s.ConnectionInformation.Address.Address
	}
	for _, m := range s.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		if m.ConnectionInformation != nil && m.ConnectionInformation.Address != nil {
			host = m.ConnectionInformation.Address.Address
		}
		ip, err := netip.ParseAddr(strings.TrimSpace(host))
		if err != nil {
			return netip.AddrPort{}, fmt.Errorf("want an IP address in c=, got %q", host)
		}
		if m.MediaName.Port.Value <= 0 || m.MediaName.Port.Value > 65535 {
			return netip.AddrPort{}, fmt.Errorf("want an audio port, got %d", m.MediaName.Port.Value)
		}
		return netip.AddrPortFrom(ip, uint16(m.MediaName.Port.Value)), nil
	}
	return netip.AddrPort{}, errors.New("want an m=audio line, found none")
}
