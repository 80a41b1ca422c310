package store

import "testing"

func TestCheckAffiliation(t *testing.T) {
	cases := []struct {
		room string
		e    AffiliationEntry
		ok   bool
	}{
		{"r", AffiliationEntry{JID: "a@example.test", Affiliation: AffiliationOwner}, true},
		{"r", AffiliationEntry{JID: "a@example.test", Affiliation: AffiliationNone}, true},
		{"r", AffiliationEntry{JID: "a@example.test", Affiliation: AffiliationOutcast, Reason: "spam"}, true},
		{"", AffiliationEntry{JID: "a@example.test", Affiliation: AffiliationMember}, false},
		{"r", AffiliationEntry{Affiliation: AffiliationMember}, false},
		{"r", AffiliationEntry{JID: "a@example.test", Affiliation: "Owner"}, false},
		{"r", AffiliationEntry{JID: "a@example.test"}, false},
	}
	for _, c := range cases {
		if err := CheckAffiliation(c.room, c.e); (err == nil) != c.ok {
			t.Errorf("CheckAffiliation(%q, %+v) = %v, want ok=%v", c.room, c.e, err, c.ok)
		}
	}
}
