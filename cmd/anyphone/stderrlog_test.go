package main

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestLogLinesBoundsBursts: a flood of C library lines (as ALSA prints
// while the sound server is down) reaches the log as a few lines a second
// and one count, not line by line.
func TestLogLinesBoundsBursts(t *testing.T) {
	var in strings.Builder
	for i := range 300 { // two seconds of a 150-lines-a-second flood
		fmt.Fprintf(&in, "Expression 'x' failed in 'src/hostapi/alsa/pa_linux_alsa.c', line: %d\n", i)
	}
	var out bytes.Buffer
	log := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))
	start := time.Unix(0, 0)
	n := 0
	logLines(log, strings.NewReader(in.String()), func() time.Time {
		n++
		return start.Add(time.Duration(n) * time.Second / 150)
	})
	lines := strings.Count(out.String(), "\n")
	if lines > 2*(stderrBurst+1)+1 {
		t.Errorf("300 lines in 2 s became %d log lines:\n%s", lines, out.String())
	}
	if !strings.Contains(out.String(), "suppressed") {
		t.Errorf("no summary of the suppressed lines:\n%s", out.String())
	}
}
