package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"cusax.dev/bridge/focus/focustest"
	"cusax.dev/bridge/muc/muctest"
)

// TestBrowserJoinGoesToTheOwner: on two nodes sharing Redis, a browser
// reaching the node that does not own the room is sent to the one that
// does, by the same ownership as SIP calls: the page and the offer get 307
// to the owner's web URL (from the node registry), and the owner serves
// them itself.
func TestBrowserJoinGoesToTheOwner(t *testing.T) {
	c := newCluster(t)
	c.web = true
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nodes := c.startNodes(ctx, 2)
	phone := focustest.StartBaresip(t, focustest.BaresipOptions{User: "carol", Play: toneFile(t, 440)})
	dialUntilUp(ctx, t, phone, nodes[0].uri("standup"))

	// The binary hands a chat user its personal browser link with its
	// dial-in URI, on one of the nodes' web servers.
	bob := muctest.NewClient(t, c.prosody, "bob", "laptop")
	mark := bob.Mark()
	if j := bob.Join(c.roomJID("standup"), "bob", muctest.JoinOptions{}); !j.OK {
		t.Fatalf("bob could not join: %s", j.Error)
	}
	msg := bob.WaitFor(mark, "bob's personal links", func(s *muctest.Stanza) bool {
		return s.Name() == "message" && strings.Contains(s.Body(), "/join/standup#")
	})
	if !strings.Contains(msg.Body(), "http://"+nodes[0].web+"/join/standup#") && !strings.Contains(msg.Body(), "http://"+nodes[1].web+"/join/standup#") {
		t.Errorf("the browser link is on neither node's web server: %s", msg.Body())
	}

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var owner, other *clusterNode
	for _, n := range nodes {
		res, err := noFollow.Get("http://" + n.web + "/join/standup")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		switch res.StatusCode {
		case http.StatusOK:
			owner = n
		case http.StatusTemporaryRedirect:
			other = n
		default:
			t.Errorf("%s answers the join page %d, want 200 (owner) or 307 (the other)", n.id, res.StatusCode)
		}
	}
	if owner == nil || other == nil {
		t.Fatalf("want one node serving the page and one redirecting, got owner %v, other %v", owner, other)
	}
	res, err := noFollow.Get("http://" + other.web + "/join/standup")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got, want := res.Header.Get("Location"), "http://"+owner.web+"/join/standup"; got != want {
		t.Errorf("%s sends the page to %q, want the owner's %q", other.id, got, want)
	}
	req, _ := http.NewRequest("POST", "http://"+other.web+"/whip/standup?nick=ann", strings.NewReader("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n"))
	req.Header.Set("Content-Type", "application/sdp")
	res, err = noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if got, want := res.Header.Get("Location"), "http://"+owner.web+"/whip/standup?nick=ann"; res.StatusCode != http.StatusTemporaryRedirect || got != want {
		t.Errorf("%s answers the offer %d to %q (%s), want 307 to %q", other.id, res.StatusCode, got, b, want)
	}
}
