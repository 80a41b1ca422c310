package focus

import (
	"testing"
	"time"
)

func TestGrantExpires(t *testing.T) {
	const hour, minute = time.Hour, time.Minute
	cases := []struct {
		value    string
		want     time.Duration
		tooBrief bool
		bad      bool
	}{
		{"600", 600 * time.Second, false, false},
		{" 60 ", minute, false, false},
		{"59", 59 * time.Second, true, false},
		{"1", time.Second, true, false},
		{"0", 0, false, false},
		{"000", 0, false, false},
		{"3600", hour, false, false},
		{"3601", hour, false, false},
		{"4294967295", hour, false, false},
		{"99999999999999999999999999", hour, false, false},
		{"00000000000000000000000005", 5 * time.Second, true, false},
		{"-1", 0, false, true},
		{"+5", 0, false, true},
		{"5s", 0, false, true},
		{"", 0, false, true},
		{"1 2", 0, false, true},
	}
	for _, tc := range cases {
		got, brief, err := grantExpires(tc.value, hour, minute)
		if (err != nil) != tc.bad {
			t.Errorf("%q: err %v, want error %v", tc.value, err, tc.bad)
			continue
		}
		if tc.bad {
			continue
		}
		if got != tc.want || brief != tc.tooBrief {
			t.Errorf("%q: got %v tooBrief %v, want %v %v", tc.value, got, brief, tc.want, tc.tooBrief)
		}
	}
}

// FuzzGrantExpires: any Expires value gets an error or a lifetime within
// [0, longest], too brief only under the minimum.
func FuzzGrantExpires(f *testing.F) {
	for _, s := range []string{"600", "0", "59", "-1", "99999999999999999999", " 7 ", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got, brief, err := grantExpires(v, time.Hour, time.Minute)
		if err != nil {
			return
		}
		if got < 0 || got > time.Hour {
			t.Fatalf("%q granted %v", v, got)
		}
		if brief != (got > 0 && got < time.Minute) {
			t.Fatalf("%q granted %v tooBrief %v", v, got, brief)
		}
	})
}
