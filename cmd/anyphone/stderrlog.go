package main

import (
	"bufio"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"golang.org/x/sys/unix"
)

// stderrBurst is how many lines of C library output a second reach the
// log; the rest of a burst is counted and summarised once.
const stderrBurst = 5

// stderrToLog points fd 2 at a pipe whose lines go to log until restore:
// the C libraries under portaudio (ALSA, JACK, PortAudio's own checks)
// print there, about 150 lines a second while a sound server is down, and
// in the TUI fd 2 must not reach the terminal. A burst is logged as its
// first stderrBurst lines a second (debug) and one summary of how many
// more there were (info). Go's crash output (a panic, a fatal error) goes
// to crash as well, since the pipe's reader dies with the process.
func stderrToLog(log *slog.Logger, crash *os.File) (restore func(), err error) {
	r, w, err := os.Pipe()
	if err != nil {
		return func() {}, err
	}
	saved, err := unix.Dup(2)
	if err != nil {
		r.Close()
		w.Close()
		return func() {}, err
	}
	if err := unix.Dup2(int(w.Fd()), 2); err != nil {
		_ = unix.Close(saved)
		r.Close()
		w.Close()
		return func() {}, err
	}
	if crash != nil {
		if err := debug.SetCrashOutput(crash, debug.CrashOptions{}); err != nil {
			log.Warn("crash output", "err", err)
		}
	}
	done := make(chan struct{})
	go func() { // the stderr reader: ends when restore closes the pipe
		defer close(done)
		logLines(log, r, time.Now)
	}()
	return func() {
		_ = unix.Dup2(saved, 2)
		_ = unix.Close(saved)
		w.Close()
		<-done
		r.Close()
		if crash != nil {
			_ = debug.SetCrashOutput(nil, debug.CrashOptions{})
		}
	}, nil
}

// logLines logs the lines of r, at most stderrBurst a second, and
// summarises the rest of each burst.
func logLines(log *slog.Logger, r io.Reader, now func() time.Time) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	var (
		window     time.Time
		inWindow   int
		suppressed int
	)
	flush := func() {
		if suppressed > 0 {
			log.Info("c library stderr lines suppressed", "lines", suppressed)
			suppressed = 0
		}
	}
	for sc.Scan() {
		t := now()
		if t.Sub(window) >= time.Second {
			flush()
			window, inWindow = t, 0
		}
		if inWindow < stderrBurst {
			inWindow++
			log.Debug("c library stderr", "line", sc.Text())
			continue
		}
		suppressed++
	}
	flush()
}
