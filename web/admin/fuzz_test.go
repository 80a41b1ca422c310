package admin

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzActionBody: any body gives a reason or an error, never a panic, and a
// field is named only with an error.
func FuzzActionBody(f *testing.F) {
	for _, s := range []string{"", `{"reason":"x"}`, `{"reason":5}`, `{"x":1}`, `{`, `[]`, `{"reason":"a"}{}`, "null"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", "/", strings.NewReader(body))
		_, field, err := readActionBody(req)
		if err == nil && field != "" {
			t.Fatalf("field %q without an error", field)
		}
		if err != nil && len(err.Error()) == 0 {
			t.Fatal("an error without a message")
		}
	})
}
