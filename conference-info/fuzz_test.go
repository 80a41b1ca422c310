package confinfo

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzDecode feeds Decode hostile documents: it must return a document or
// an error, never panic; a document it accepts must survive
// encode/decode unchanged and encode the same way twice; and Apply of it
// onto an RFC 4575 full document must not panic either.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.xml")
	for _, name := range seeds {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Documents as State produces them: a full one and partial ones.
	s := NewState(Config{Entity: confURI})
	s.SetDescription(NewDescription("Standup", confURI, ChatURI("standup", "muc.example.test")))
	s.AddUser(AudioUser("sip:alice@example.test", "Alice", Leg{Entity: "sip:alice@192.0.2.1", Status: StatusConnected, MediaStatus: MediaSendRecv, CallID: "c", FromTag: "f", ToTag: "t"}))
	s.AddUser(ChatUser("xmpp:bob@example.test", "Bob"))
	full, _ := Encode(s.Full())
	f.Add(full)
	v := s.Version()
	s.UpdateEndpoint("sip:alice@example.test", "sip:alice@192.0.2.1", func(e *Endpoint) { e.Status = StatusMutedViaFocus })
	s.RemoveUser("xmpp:bob@example.test")
	p, _ := s.Partial(v)
	pb, _ := Encode(p)
	f.Add(pb)
	f.Add([]byte(`<conference-info xmlns="urn:ietf:params:xml:ns:conference-info" entity="x" state="deleted" version="3"/>`))
	for _, d := range oddDocuments {
		f.Add([]byte(d))
	}

	baseBytes, err := os.ReadFile("testdata/rfc4575-full.xml")
	if err != nil {
		f.Fatal(err)
	}
	base, err := Decode(baseBytes)
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, b []byte) {
		doc, err := DecodeLimited(b, Limits{MaxBytes: 64 << 10, MaxElements: 2000, MaxDepth: 24})
		if err != nil {
			return
		}
		enc, err := Encode(doc)
		if err != nil {
			t.Fatalf("Encode of a decoded document: %v", err)
		}
		again, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(Encode(doc)): %v\n%s", err, enc)
		}
		if !reflect.DeepEqual(doc, again) {
			t.Fatalf("round trip changed the document\n%#v\n%#v\n%s", doc, again, enc)
		}
		enc2, err := Encode(again)
		if err != nil || string(enc2) != string(enc) {
			t.Fatalf("encoding unstable (%v):\n%s\n%s", err, enc, enc2)
		}
		local := base.Clone()
		local.Entity = doc.Entity
		local.Version = doc.Version - 1
		got, err := Apply(local, doc)
		if err != nil {
			return
		}
		if _, err := Encode(got); err != nil {
			t.Fatalf("Encode of an applied document: %v", err)
		}
	})
}
