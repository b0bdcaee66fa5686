//go:build portaudio && unix

package portaudio

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"syscall"
)

// stderrMu serialises redirections of fd 2: it is process-wide state.
var stderrMu sync.Mutex

// maxCaptured bounds how much captured C output is logged.
const maxCaptured = 64 << 10

// quiet runs fn with fd 2 pointed at a temporary file, then restores fd 2
// and logs what the C libraries printed at debug level. ALSA and JACK print
// about 65 lines there when no sound card is present, which would corrupt
// the TUI. If the redirection cannot be set up, fn runs anyway.
func quiet(log *slog.Logger, fn func() error) error {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	tmp, err := os.CreateTemp("", "anyphone-portaudio-*.log")
	if err != nil {
		if tmp, err = os.OpenFile(os.DevNull, os.O_WRONLY, 0); err != nil {
			log.Debug("portaudio: cannot silence stderr", "err", err)
			return fn()
		}
	} else {
		defer os.Remove(tmp.Name())
	}
	defer tmp.Close()
	saved, err := syscall.Dup(2)
	if err != nil {
		log.Debug("portaudio: cannot silence stderr", "err", err)
		return fn()
	}
	defer syscall.Close(saved)
	if err := dupTo(int(tmp.Fd()), 2); err != nil {
		log.Debug("portaudio: cannot silence stderr", "err", err)
		return fn()
	}
	fnErr := fn()
	if err := dupTo(saved, 2); err != nil {
		// Leave the process writing to the temp file rather than nowhere.
		return errors.Join(fnErr, err)
	}
	logCaptured(log, tmp)
	return fnErr
}

// logCaptured logs the lines written to f, if it is a regular file.
func logCaptured(log *slog.Logger, f *os.File) {
	if f.Name() == os.DevNull || !log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	if _, err := f.Seek(0, 0); err != nil {
		return
	}
	buf := make([]byte, maxCaptured)
	n, _ := f.Read(buf)
	sc := bufio.NewScanner(bytes.NewReader(buf[:n]))
	lines := 0
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			log.Debug("portaudio stderr", "line", sc.Text())
			lines++
		}
	}
	if lines > 0 {
		log.Debug("portaudio stderr captured", "lines", lines)
	}
}
