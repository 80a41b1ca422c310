package admin

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzActionBody: any body gives a reason (or limits) or an error, never a
// panic; a field is named only with an error, and no limit is negative.
func FuzzActionBody(f *testing.F) {
	for _, s := range []string{"", `{"reason":"x"}`, `{"reason":5}`, `{"x":1}`, `{`, `[]`, `{"reason":"a"}{}`, "null", `{"max_participants":3}`, `{"max_participants":-3}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		_, field, err := readActionBody(req)
		if err == nil && field != "" {
			t.Fatalf("field %q without an error", field)
		}
		l, field, err := readLimitsBody(httptest.NewRequest("PUT", "/", strings.NewReader(body)))
		if err == nil && (field != "" || l.MaxParticipants < 0) {
			t.Fatalf("limits %+v, field %q without an error", l, field)
		}
		if err != nil && len(err.Error()) == 0 {
			t.Fatal("an error without a message")
		}
	})
}
