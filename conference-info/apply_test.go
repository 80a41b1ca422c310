package confinfo

import (
	"strings"
	"sync"
	"testing"
)

// TestApplyMergeRules checks the RFC 4575 section 4 rules on the parts of
// a document State never sends partially: uri lists, available-media,
// host-info and sidebars.
func TestApplyMergeRules(t *testing.T) {
	const ns = `xmlns="` + Namespace + `"`
	base := `<conference-info ` + ns + ` entity="sip:c@x" state="full" version="4">
	  <conference-description>
	    <subject>Old</subject>
	    <conf-uris><entry><uri>sip:c@x</uri></entry></conf-uris>
	    <service-uris><entry><uri>http://w</uri><purpose>web-page</purpose></entry></service-uris>
	    <available-media><entry label="a"><type>audio</type></entry></available-media>
	  </conference-description>
	  <host-info><display-text>Host</display-text><uris><entry><uri>sip:h@x</uri></entry></uris></host-info>
	  <users><user entity="sip:u@x"><display-text>U</display-text><associated-aors><entry><uri>xmpp:u@x</uri></entry></associated-aors></user></users>
	  <sidebars-by-ref><entry><uri>sip:side1@x</uri></entry></sidebars-by-ref>
	  <sidebars-by-val>
	    <entry entity="sip:s1@x"><conference-state><active>true</active></conference-state></entry>
	    <entry entity="sip:s2@x"/>
	  </sidebars-by-val>
	</conference-info>`
	tests := []struct {
		name    string
		partial string
		want    []string
		notWant []string
	}{
		{"uris partial adds and replaces by uri",
			`<conference-description><service-uris state="partial"><entry><uri>http://w</uri><purpose>web-page</purpose><display-text>Web</display-text></entry><entry><uri>xmpp:c@muc.x?join</uri><purpose>grouptextchat</purpose></entry></service-uris></conference-description>`,
			[]string{`<service-uris><entry><uri>http://w</uri><display-text>Web</display-text><purpose>web-page</purpose></entry><entry><uri>xmpp:c@muc.x?join</uri><purpose>grouptextchat</purpose></entry></service-uris>`, `<subject>Old</subject>`, `<conf-uris>`}, nil},
		{"uris without state replace the list",
			`<conference-description><service-uris><entry><uri>xmpp:c@muc.x?join</uri></entry></service-uris></conference-description>`,
			[]string{`<service-uris><entry><uri>xmpp:c@muc.x?join</uri></entry></service-uris>`}, []string{"http://w"}},
		{"uris deleted",
			`<conference-description><conf-uris state="deleted"/></conference-description>`,
			[]string{`<subject>Old</subject>`}, []string{"<conf-uris>"}},
		{"available-media merged by label",
			`<conference-description><subject>New</subject><available-media><entry label="v"><type>video</type></entry><entry label="a"><type>audio</type><status>recvonly</status></entry></available-media></conference-description>`,
			[]string{`<subject>New</subject>`, `<available-media><entry label="a"><type>audio</type><status>recvonly</status></entry><entry label="v"><type>video</type></entry></available-media>`}, nil},
		{"host-info fields replace",
			`<host-info><web-page>http://h</web-page><uris state="partial"><entry><uri>sip:h2@x</uri></entry></uris></host-info>`,
			[]string{`<host-info><display-text>Host</display-text><web-page>http://h</web-page><uris><entry><uri>sip:h@x</uri></entry><entry><uri>sip:h2@x</uri></entry></uris></host-info>`}, nil},
		{"associated-aors partial",
			`<users state="partial"><user entity="sip:u@x" state="partial"><associated-aors state="partial"><entry><uri>tel:+1</uri></entry></associated-aors></user></users>`,
			[]string{`<associated-aors><entry><uri>xmpp:u@x</uri></entry><entry><uri>tel:+1</uri></entry></associated-aors>`, `<display-text>U</display-text>`}, nil},
		{"users without state replace all users",
			`<users><user entity="sip:v@x"/></users>`,
			[]string{`<users><user entity="sip:v@x"></user></users>`}, []string{"sip:u@x"}},
		{"users deleted",
			`<users state="deleted"/>`,
			nil, []string{"<users>", "sip:u@x"}},
		{"sidebars",
			`<sidebars-by-ref state="partial"><entry><uri>sip:side2@x</uri></entry></sidebars-by-ref>
			 <sidebars-by-val state="partial">
			   <entry entity="sip:s1@x" state="partial"><conference-state><locked>true</locked></conference-state></entry>
			   <entry entity="sip:s2@x" state="deleted"/>
			   <entry entity="sip:s3@x"><users><user entity="sip:u@x"/></users></entry>
			 </sidebars-by-val>`,
			[]string{`<sidebars-by-ref><entry><uri>sip:side1@x</uri></entry><entry><uri>sip:side2@x</uri></entry></sidebars-by-ref>`,
				`<entry entity="sip:s1@x" version="0"><conference-state><active>true</active><locked>true</locked></conference-state></entry>`,
				`<entry entity="sip:s3@x" version="0">`}, []string{"sip:s2@x"}},
		{"sidebars replaced",
			`<sidebars-by-val><entry entity="sip:s9@x"/></sidebars-by-val>`,
			[]string{`<sidebars-by-val><entry entity="sip:s9@x" version="0"></entry></sidebars-by-val>`}, []string{"sip:s1@x"}},
		{"extensions replace when present",
			`<x:note xmlns:x="urn:x">hi</x:note>`,
			[]string{`<note xmlns="urn:x">hi</note>`}, nil},
	}
	local, err := Decode([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		p, err := Decode([]byte(`<conference-info ` + ns + ` entity="sip:c@x" state="partial" version="5">` + tt.partial + `</conference-info>`))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got, err := Apply(local, p)
		if err != nil {
			t.Fatalf("%s: Apply: %v", tt.name, err)
		}
		enc := mustEncode(t, got)
		for _, w := range tt.want {
			if !strings.Contains(enc, w) {
				t.Errorf("%s: result lacks %s\n%s", tt.name, w, enc)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(enc, w) {
				t.Errorf("%s: result still has %s\n%s", tt.name, w, enc)
			}
		}
	}
	if enc := mustEncode(t, local); !strings.Contains(enc, "sip:s2@x") || !strings.Contains(enc, "<subject>Old</subject>") {
		t.Errorf("Apply changed its local argument:\n%s", enc)
	}
}

// TestDocumentsAreCopies: documents and users handed out share nothing
// with the State, and Apply's result shares nothing with its arguments.
func TestDocumentsAreCopies(t *testing.T) {
	s := newTestState(t)
	if err := s.AddUser(AudioUser("sip:a@x", "A", Leg{Entity: "e", Status: StatusConnected, MediaStatus: MediaSendRecv, CallID: "c"})); err != nil {
		t.Fatal(err)
	}
	beforeDoc := s.Full()
	before := mustEncode(t, beforeDoc)
	full := s.Full()
	full.Users.User[0].Endpoints[0].Media[0].Status = MediaInactive
	full.Users.User[0].Endpoints[0].CallInfo.SIP.CallID = "changed"
	full.Description.ConfURIs.Entries[0].URI = "changed"
	u, ok := s.User("sip:a@x")
	if !ok {
		t.Fatal("User: not found")
	}
	u.Endpoints[0].Status = StatusOnHold
	users := s.Users()
	users[0].DisplayText = "changed"
	if _, ok := s.User("sip:nobody@x"); ok {
		t.Error("User found an unknown user")
	}
	v := s.Version()
	if v != beforeDoc.Version {
		t.Fatalf("version moved from %d to %d without a change", beforeDoc.Version, v)
	}
	s.SetLegStatus("sip:a@x", "e", StatusOnHold, "")
	p, _ := s.Partial(v)
	p.Users.User[0].Endpoints[0].Status = StatusAlerting
	s.SetLegStatus("sip:a@x", "e", StatusConnected, "")
	afterDoc := s.Full()
	afterDoc.Version = v
	if after := mustEncode(t, afterDoc); after != before {
		t.Errorf("State changed through a returned copy:\n%s\n%s", before, after)
	}
	applied, err := Apply(nil, full)
	if err != nil {
		t.Fatal(err)
	}
	applied.Users.User[0].DisplayText = "changed"
	if full.Users.User[0].DisplayText != "A" {
		t.Error("Apply's result shares memory with the full document")
	}
}

// TestStateConcurrent runs changes and subscriptions at once; the race
// detector checks the locking, and every watcher still ends equal to Full.
func TestStateConcurrent(t *testing.T) {
	s := newTestState(t)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 50 {
				entity := "sip:w" + string(rune('a'+w)) + "@x"
				if i%2 == 0 {
					s.AddUser(AudioUser(entity, "W", Leg{Entity: "e", Status: StatusConnected}))
				} else {
					s.SetLegStatus(entity, "e", StatusMutedViaFocus, MediaRecvOnly)
					s.RemoveUser(entity)
				}
			}
		})
	}
	type watcher struct {
		sub  Subscription
		copy *Info
	}
	watchers := make([]watcher, 2)
	for k := range watchers {
		w := &watchers[k]
		wg.Go(func() {
			for range 100 {
				if doc, ok := s.Next(&w.sub); ok {
					var err error
					if w.copy, err = Apply(w.copy, doc); err != nil {
						t.Errorf("Apply: %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for k := range watchers {
		w := &watchers[k]
		if doc, ok := s.Next(&w.sub); ok {
			var err error
			if w.copy, err = Apply(w.copy, doc); err != nil {
				t.Fatalf("watcher %d: Apply: %v", k, err)
			}
		}
		want := s.Full()
		want.Version = w.sub.Version()
		if got, want := mustEncode(t, w.copy), mustEncode(t, want); got != want {
			t.Errorf("watcher %d:\n got %s\nwant %s", k, got, want)
		}
	}
}

func TestElementString(t *testing.T) {
	e, err := ParseElement(`<x:a xmlns:x="urn:x" k="v"><x:b>t</x:b><c xmlns="">u</c></x:a>`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.String(), `<a xmlns="urn:x" k="v"><b>t</b><c xmlns="">u</c></a>`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	if (Element{}).Name().Local != "" || (Element{}).String() != "" {
		t.Error("zero Element is not empty")
	}
}
