package confinfo

import "testing"

// oddDocuments are legal but unusual documents; each must decode and
// survive a round trip unchanged. FuzzDecode starts from them too.
var oddDocuments = []string{
	// Two <users>: their users add up.
	`<conference-info xmlns="` + Namespace + `" entity="sip:c@x" version="1"><users><user entity="sip:a@x"/></users><users><user entity="sip:b@x"/></users></conference-info>`,
	// An undeclared prefix, an element in no namespace and xml:lang.
	`<conference-info xmlns="` + Namespace + `" entity="sip:c@x"><foo:bar a="1"/><plain xmlns="" xml:lang="en">t</plain></conference-info>`,
	// Markup inside a text field, and mixed content where none is expected.
	`<conference-info xmlns="` + Namespace + `" entity="sip:c@x"><conference-description><display-text>a<b xmlns="urn:b">x</b>c</display-text></conference-description><users>text<user entity="u">more</user></users></conference-info>`,
	// A conference-info element where the schema has none, and one of
	// our names in a foreign namespace.
	`<conference-info xmlns="` + Namespace + `" xmlns:o="urn:o" entity="sip:c@x"><user entity="stray"/><users><o:user entity="fake"/><user o:entity="e" entity="real"/></users></conference-info>`,
	// Character references, CR and tabs in attributes and text.
	`<conference-info xmlns="` + Namespace + `" entity="sip:c@x&#xD;&#9;y"><conference-description><subject>a&#xD;b&#10;&lt;c&gt;&amp;</subject></conference-description></conference-info>`,
	// A default namespace redeclared to ours on a child, and a prefixed root.
	`<c:conference-info xmlns:c="` + Namespace + `" entity="sip:c@x"><users xmlns="` + Namespace + `"><user entity="u"><endpoint entity="e"><media id="1"><type>audio</type></media></endpoint></user></users></c:conference-info>`,
	// Booleans and numbers as the schema allows them.
	`<conference-info xmlns="` + Namespace + `" entity="sip:c@x"><conference-state><user-count> 3 </user-count><active>1</active><locked>false</locked></conference-state></conference-info>`,
}

func TestRoundTripOddDocuments(t *testing.T) {
	for i, doc := range oddDocuments {
		got := checkRoundTrip(t, []byte(doc))
		switch i {
		case 0:
			if n := len(got.Users.User); n != 2 {
				t.Errorf("two <users>: %d users, want 2", n)
			}
		case 3:
			if n := len(got.Users.User); n != 1 || got.Users.User[0].Entity != "real" || len(got.Users.Ext) != 1 || len(got.Users.User[0].Attrs) != 1 {
				t.Errorf("foreign user taken for a user: %+v", got.Users)
			}
			if len(got.Ext) != 1 {
				t.Errorf("stray conference-info element not kept: %v", got.Ext)
			}
		case 5:
			if got.Users.User[0].Endpoints[0].Media[0].Type != "audio" {
				t.Errorf("prefixed document: %+v", got.Users)
			}
		case 6:
			cs := got.ConferenceState
			if *cs.UserCount != 3 || !*cs.Active || *cs.Locked {
				t.Errorf("conference-state %d %v %v", *cs.UserCount, *cs.Active, *cs.Locked)
			}
		}
	}
}
