package muctest

import (
	"sync/atomic"
	"testing"
)

// TestCountStanzas feeds the scanner a stream cut at every byte: whatever
// the cut, complete stanzas are counted once and the rest waits.
func TestCountStanzas(t *testing.T) {
	stream := "<message type='groupchat' from='r@muc/a' to='u@d/r'><body>one &lt;/message&gt;</body></message>" +
		"<message from='r@muc/a' type='groupchat'><subject>no body</subject></message>" +
		"<message type='chat' to='u@d/r'><body>not groupchat</body></message>" +
		"<presence from='r@muc/u'><x xmlns='http://jabber.org/protocol/muc#user'><status code='110'/></x></presence>" +
		"<presence from='r@muc/v'/>" +
		"<iq type='result' id='1'/>" +
		"\n<r xmlns='urn:xmpp:sm:3'/>" +
		`<message type="groupchat"><body>two</body></message>` +
		"<presence from='r@muc/w'><status code=\"110\"/></presence>"
	for cut := 0; cut <= len(stream); cut++ {
		var groupchat, self atomic.Int64
		pending := []byte(stream[:cut])
		used := countStanzas(pending, &groupchat, &self)
		pending = append(pending[used:], stream[cut:]...)
		if used := countStanzas(pending, &groupchat, &self); used != len(pending) {
			t.Fatalf("cut at %d: %d of %d bytes left unread at the end", cut, len(pending)-used, len(pending))
		}
		if groupchat.Load() != 2 || self.Load() != 2 {
			t.Fatalf("cut at %d: counted %d groupchat messages and %d self-presences, want 2 and 2", cut, groupchat.Load(), self.Load())
		}
	}
}
