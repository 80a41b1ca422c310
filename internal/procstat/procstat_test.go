package procstat

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// comm with a space and a parenthesis, utime 250 and stime 50 ticks.
	line := "4242 (a b) c) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 1000000 500"
	got, err := parseStat(line)
	if err != nil || got != 3*time.Second {
		t.Fatalf("parseStat = %v, %v; want 3s", got, err)
	}
	for _, bad := range []string{"", "4242 (x", "4242 (x) S 1 2", "4242 (x) S 1 2 3 4 5 6 7 8 9 10 u s 0"} {
		if _, err := parseStat(bad); err == nil {
			t.Errorf("parseStat(%q) accepted it", bad)
		}
	}
}

func TestOwnProcess(t *testing.T) {
	pid := os.Getpid()
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	if cpu, err := CPU(pid); err != nil || cpu <= 0 {
		t.Errorf("CPU(self) = %v, %v; want some time after a busy loop", cpu, err)
	}
	if rss, err := RSS(pid); err != nil || rss <= 0 {
		t.Errorf("RSS(self) = %v, %v", rss, err)
	}
	if Switches(pid) <= 0 {
		t.Error("Switches(self) = 0; a Go process has switched by now")
	}
}

func FuzzParseStat(f *testing.F) {
	f.Add("4242 (a b) c) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 1000000 500")
	f.Fuzz(func(t *testing.T, s string) {
		if d, err := parseStat(s); err == nil && d < 0 {
			t.Fatalf("negative CPU time %v", d)
		}
	})
}
