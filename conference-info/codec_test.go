package confinfo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkRoundTrip decodes b, encodes, decodes again and wants the same
// document and the same bytes on a second encoding.
func checkRoundTrip(t *testing.T, b []byte) *Info {
	t.Helper()
	doc, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	enc1 := mustEncode(t, doc)
	doc2, err := Decode([]byte(enc1))
	if err != nil {
		t.Fatalf("Decode(Encode(doc)): %v\n%s", err, enc1)
	}
	if !reflect.DeepEqual(doc, doc2) {
		t.Fatalf("round trip changed the document:\n got %#v\nwant %#v\n%s", doc2, doc, enc1)
	}
	if enc2 := mustEncode(t, doc2); enc1 != enc2 {
		t.Fatalf("encoding is not stable:\n%s\n%s", enc1, enc2)
	}
	checkNamespaces(t, enc1)
	return doc
}

// checkNamespaces reads an encoding with a plain decoder: the root and
// every element the struct fields produce must be in the conference-info
// namespace, which must be declared only once (on the root).
func checkNamespaces(t *testing.T, enc string) {
	t.Helper()
	if n := strings.Count(enc, `xmlns="`+Namespace+`"`); n != 1 {
		t.Errorf("conference-info namespace declared %d times, want once:\n%s", n, enc)
	}
	if !strings.HasPrefix(enc, `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no UTF-8 XML declaration:\n%s", enc)
	}
	d := xml.NewDecoder(strings.NewReader(enc))
	known := map[string]bool{}
	for _, n := range []string{"conference-info", "conference-description", "display-text", "subject", "free-text",
		"keywords", "conf-uris", "service-uris", "maximum-user-count", "available-media", "entry", "uri", "purpose",
		"modified", "when", "reason", "by", "type", "status", "host-info", "web-page", "uris", "conference-state",
		"user-count", "active", "locked", "users", "user", "associated-aors", "roles", "languages", "cascaded-focus",
		"endpoint", "referred", "joining-method", "joining-info", "disconnection-method", "disconnection-info",
		"media", "label", "src-id", "call-info", "sip", "call-id", "from-tag", "to-tag", "sidebars-by-ref", "sidebars-by-val"} {
		known[n] = true
	}
	depthForeign := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("encoding is not well-formed: %v\n%s", err, enc)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depthForeign > 0 {
				depthForeign++
				continue
			}
			if tok.Name.Space != Namespace || !known[tok.Name.Local] {
				depthForeign = 1
				continue
			}
		case xml.EndElement:
			if depthForeign > 0 {
				depthForeign--
			}
		}
	}
}

func TestDecodeRFC4575Full(t *testing.T) {
	doc := checkRoundTrip(t, readTestdata(t, "rfc4575-full.xml"))
	if doc.Entity != "sips:conf233@example.com" || doc.State != StateFull || doc.Version != 1 {
		t.Errorf("root: entity %q state %q version %d", doc.Entity, doc.State, doc.Version)
	}
	if chat, ok := doc.Description.ChatRoom(); !ok || chat != "xmpp:salesgroup@muc.example.com?join" {
		t.Errorf("ChatRoom() = %q, %v", chat, ok)
	}
	if doc.ConferenceState == nil || doc.ConferenceState.UserCount == nil || *doc.ConferenceState.UserCount != 33 {
		t.Errorf("user-count: %+v", doc.ConferenceState)
	}
	if doc.HostInfo == nil || doc.HostInfo.URIs == nil || doc.HostInfo.URIs.Entries[0].URI != "sip:sales@example.com" {
		t.Errorf("host-info: %+v", doc.HostInfo)
	}
	if n := len(doc.Users.User); n != 2 {
		t.Fatalf("%d users, want 2", n)
	}
	bob := doc.Users.User[0].Endpoints[0]
	if bob.Status != StatusDisconnected || bob.DisconnectionMethod != DisconnectDeparted ||
		bob.DisconnectionInfo.Reason != "bad voice quality" || bob.DisconnectionInfo.When != "2005-03-04T20:00:00Z" ||
		bob.Media[0].SrcID != "432424" || bob.Media[0].Status != MediaSendRecv {
		t.Errorf("bob's endpoint: %+v", bob)
	}
	alice := doc.Users.User[1].Endpoints[0]
	if alice.Entity != "sip:4kfk4j392jsu@example.com;grid=433kj4j3u" || alice.JoiningMethod != JoinDialedOut || alice.JoiningInfo.By != "sip:mike@example.com" {
		t.Errorf("alice's endpoint: %+v", alice)
	}
	if sb := doc.SidebarsByVal; sb == nil || len(sb.Entries) != 1 || len(sb.Entries[0].Users.User) != 3 {
		t.Errorf("sidebars-by-val: %+v", sb)
	}
}

func TestApplyRFC4575Partial(t *testing.T) {
	full := checkRoundTrip(t, readTestdata(t, "rfc4575-full.xml"))
	partial := checkRoundTrip(t, readTestdata(t, "rfc4575-partial.xml"))
	got, err := Apply(full, partial)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.State != StateFull {
		t.Errorf("version %d state %q, want 2 full", got.Version, got.State)
	}
	if *got.ConferenceState.UserCount != 34 {
		t.Errorf("user-count %d, want 34", *got.ConferenceState.UserCount)
	}
	var entities []string
	for _, u := range got.Users.User {
		entities = append(entities, u.Entity)
	}
	if want := []string{"sip:bob@example.com", "sip:carol@example.com"}; !reflect.DeepEqual(entities, want) {
		t.Fatalf("users %v, want %v", entities, want)
	}
	bob := got.Users.User[0]
	if bob.DisplayText != "Bob Hoskins" {
		t.Errorf("bob's display-text %q: a partial user must keep what it leaves out", bob.DisplayText)
	}
	ep := bob.Endpoints[0]
	if ep.Status != StatusConnected || ep.JoiningMethod != JoinDialedIn || ep.DisplayText != "Bob's Laptop" || len(ep.Media) != 1 {
		t.Errorf("bob's endpoint after the partial: %+v", ep)
	}
	carol := got.Users.User[1]
	if carol.State != "" || carol.Roles.Entries[0] != "participant" || carol.Endpoints[0].CallInfo.SIP.CallID != "hsjh8980vhsb78" {
		t.Errorf("carol: %+v", carol)
	}
	if full.Users.User[0].Endpoints[0].Status != StatusDisconnected {
		t.Error("Apply changed its local argument")
	}
	// The same partial again is out of sequence.
	if _, err := Apply(got, partial); !errors.Is(err, ErrVersion) {
		t.Errorf("replayed partial: %v, want ErrVersion", err)
	}
}

func TestApplyVersionRules(t *testing.T) {
	local := &Info{Entity: "sip:c@example.test", State: StateFull, Version: 5}
	tests := []struct {
		name    string
		doc     *Info
		wantErr error
		wantVer uint32
	}{
		{"next partial", &Info{Entity: local.Entity, State: StatePartial, Version: 6}, nil, 6},
		{"stale partial", &Info{Entity: local.Entity, State: StatePartial, Version: 5}, ErrVersion, 0},
		{"old partial", &Info{Entity: local.Entity, State: StatePartial, Version: 2}, ErrVersion, 0},
		{"gap", &Info{Entity: local.Entity, State: StatePartial, Version: 8}, ErrVersion, 0},
		{"full at any version", &Info{Entity: local.Entity, State: StateFull, Version: 1}, nil, 1},
		{"full by default", &Info{Entity: local.Entity, Version: 9}, nil, 9},
		{"deleted", &Info{Entity: local.Entity, State: StateDeleted, Version: 6}, nil, 6},
	}
	for _, tt := range tests {
		got, err := Apply(local, tt.doc)
		if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		if err == nil && got.Version != tt.wantVer {
			t.Errorf("%s: version %d, want %d", tt.name, got.Version, tt.wantVer)
		}
	}
	if _, err := Apply(nil, &Info{State: StatePartial, Version: 1}); !errors.Is(err, ErrVersion) {
		t.Errorf("partial without a local copy: %v, want ErrVersion", err)
	}
	if _, err := Apply(local, &Info{Entity: "sip:other@example.test", State: StatePartial, Version: 6}); err == nil {
		t.Error("partial for another conference applied")
	}
	if _, err := Apply(local, &Info{Entity: local.Entity, State: StatePartial, Version: 6,
		Users: &Users{State: StatePartial, User: []User{{DisplayText: "no key"}}}}); err == nil {
		t.Error("partial user without entity applied")
	}
}

func TestForeignNamespaces(t *testing.T) {
	doc := checkRoundTrip(t, readTestdata(t, "rfc4575-full-ext.xml"))
	if doc.Version != 7 || len(doc.Attrs) != 1 || doc.Attrs[0].Name != (xml.Name{Space: "urn:example:ext", Local: "origin"}) || doc.Attrs[0].Value != "node-2" {
		t.Errorf("root: version %d attrs %+v", doc.Version, doc.Attrs)
	}
	if len(doc.Ext) != 1 || doc.Ext[0].Name() != (xml.Name{Space: "urn:example:ext", Local: "node"}) {
		t.Errorf("root extensions %v", doc.Ext)
	}
	d := doc.Description
	if len(d.Ext) != 1 || d.Ext[0].Name().Local != "floor-control" || len(d.Attrs) != 1 {
		t.Errorf("description extensions %v attrs %v", d.Ext, d.Attrs)
	}
	if d.AvailableMedia == nil || d.AvailableMedia.Entries[0].Label != "audio" {
		t.Errorf("available-media %+v", d.AvailableMedia)
	}
	if len(doc.Users.User) != 1 {
		t.Fatalf("%d users, want 1: <ex:user> is not a conference-info user", len(doc.Users.User))
	}
	u := doc.Users.User[0]
	if len(u.Ext) != 2 || u.Ext[0].Name().Local != "user" || u.Ext[1].Name().Local != "presence" {
		t.Fatalf("user extensions %v", u.Ext)
	}
	if len(u.Endpoints) != 0 {
		t.Errorf("chat-only user has endpoints %v", u.Endpoints)
	}
	enc := mustEncode(t, doc)
	for _, frag := range []string{`<plain xmlns="">no namespace</plain>`, `<presence xmlns="urn:example:ext" show="away"`, `<floor-control xmlns="urn:example:xcon" mode="chair"><chair>sip:mike@example.test</chair></floor-control>`} {
		if !strings.Contains(enc, frag) {
			t.Errorf("encoding lacks %s:\n%s", frag, enc)
		}
	}
	// The no-namespace element stays out of every namespace.
	again, _ := Decode([]byte(enc))
	var plain xml.Name
	for _, tok := range again.Users.User[0].Ext[1].toks {
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "plain" {
			plain = se.Name
		}
	}
	if plain != (xml.Name{Local: "plain"}) {
		t.Errorf("plain element came back as %v", plain)
	}
}

func TestExtensionElementsSurviveState(t *testing.T) {
	ext, err := ParseElement(`<ex:jid xmlns:ex="urn:example:ext">alice@example.test/phone</ex:jid>`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseElement(`<user xmlns="` + Namespace + `"/>`); err == nil {
		t.Error("ParseElement accepted a conference-info element")
	}
	if _, err := ParseElement(`<a>`); err == nil {
		t.Error("ParseElement accepted a broken element")
	}
	s := newTestState(t)
	u := ChatUser("xmpp:alice@example.test", "Alice")
	u.Ext = []Element{ext}
	u.Attrs = []ExtAttr{{Name: xml.Name{Space: "urn:example:ext", Local: "role"}, Value: "moderator"}}
	if err := s.AddUser(u); err != nil {
		t.Fatal(err)
	}
	enc := mustEncode(t, s.Full())
	if !strings.Contains(enc, `<jid xmlns="urn:example:ext">alice@example.test/phone</jid>`) || !strings.Contains(enc, `:role="moderator"`) {
		t.Errorf("extension missing:\n%s", enc)
	}
	checkRoundTrip(t, []byte(enc))
}

func TestDecodeErrors(t *testing.T) {
	deep := strings.Repeat("<ex:a>", 40) + strings.Repeat("</ex:a>", 40)
	many := strings.Repeat("<ex:a/>", 300)
	root := func(inner string) string {
		return `<conference-info xmlns="` + Namespace + `" xmlns:ex="urn:ex" entity="sip:c@example.test" version="1">` + inner + `</conference-info>`
	}
	tests := []struct {
		name  string
		in    string
		lim   Limits
		limit bool
	}{
		{"empty", "", Limits{}, false},
		{"not XML", "hello", Limits{}, false},
		{"no namespace", `<conference-info entity="sip:c@example.test"/>`, Limits{}, false},
		{"other namespace", `<conference-info xmlns="urn:other" entity="sip:c@example.test"/>`, Limits{}, false},
		{"other root", `<dialog-info xmlns="` + Namespace + `"/>`, Limits{}, false},
		{"unclosed", `<conference-info xmlns="` + Namespace + `">`, Limits{}, false},
		{"two roots", root("") + root(""), Limits{}, false},
		{"text after root", root("") + "junk", Limits{}, false},
		{"text before root", "junk" + root(""), Limits{}, false},
		{"bad state", root(`<users state="gone"/>`), Limits{}, false},
		{"bad root state", `<conference-info xmlns="` + Namespace + `" state="x"/>`, Limits{}, false},
		{"bad version", `<conference-info xmlns="` + Namespace + `" version="-1"/>`, Limits{}, false},
		{"latin-1", `<?xml version="1.0" encoding="ISO-8859-1"?>` + root(""), Limits{}, false},
		{"too big", root(strings.Repeat(" ", 2000)), Limits{MaxBytes: 1000}, true},
		{"too deep", root(deep), Limits{MaxDepth: 20}, true},
		{"too many", root(many), Limits{MaxElements: 100}, true},
	}
	for _, tt := range tests {
		_, err := DecodeLimited([]byte(tt.in), tt.lim)
		if err == nil {
			t.Errorf("%s: decoded", tt.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "confinfo: decode: ") {
			t.Errorf("%s: error %q does not say where it comes from", tt.name, err)
		}
		if errors.Is(err, ErrLimit) != tt.limit {
			t.Errorf("%s: error %v, errors.Is(ErrLimit) = %v, want %v", tt.name, err, !tt.limit, tt.limit)
		}
	}
	// Within the limits the same documents decode.
	if _, err := DecodeLimited([]byte(root(deep)), Limits{MaxDepth: 50}); err != nil {
		t.Errorf("deep document within limit: %v", err)
	}
	if _, err := DecodeLimited([]byte(root(many)), Limits{MaxElements: 400}); err != nil {
		t.Errorf("large document within limit: %v", err)
	}
}

func TestEncodeDeterministic(t *testing.T) {
	doc, err := Decode(readTestdata(t, "rfc4575-full-ext.xml"))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := Encode(doc)
	b, _ := Encode(doc.Clone())
	if !bytes.Equal(a, b) {
		t.Fatalf("two encodings differ:\n%s\n%s", a, b)
	}
	if _, err := Encode(nil); err == nil {
		t.Error("Encode(nil) succeeded")
	}
}

func TestChatURI(t *testing.T) {
	tests := []struct{ room, domain, want string }{
		{"standup", "muc.example.test", "xmpp:standup@muc.example.test?join"},
		{"team a/b", "muc.example.test", "xmpp:team%20a%2Fb@muc.example.test?join"},
		{"café", "muc.example.test", "xmpp:caf%C3%A9@muc.example.test?join"},
	}
	for _, tt := range tests {
		if got := ChatURI(tt.room, tt.domain); got != tt.want {
			t.Errorf("ChatURI(%q, %q) = %q, want %q", tt.room, tt.domain, got, tt.want)
		}
	}
	d := NewDescription("Standup", "sip:standup@example.test", "")
	if _, ok := d.ChatRoom(); ok || d.ServiceURIs != nil {
		t.Error("description without chat URI lists one")
	}
}
