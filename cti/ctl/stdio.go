package ctl

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"
)

// StdioOptions tune ServeStdio.
type StdioOptions struct {
	// Events writes every event from the start, without a subscribe
	// command (the endpoint's mode).
	Events bool
	// Logger; nil means slog.Default(). Logs never go to w.
	Logger *slog.Logger
	// Now stamps events; nil means time.Now (tests pin it).
	Now func() time.Time
}

// LineWriter writes whole JSON lines to one io.Writer, one at a time, so
// lines from several goroutines never interleave. Pass the same LineWriter
// to ServeStdio and use Emit for a frontend's own events (the endpoint's
// "ready" and "summary") on the same stream.
type LineWriter struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

// NewLineWriter wraps w.
func NewLineWriter(w io.Writer) *LineWriter { return &LineWriter{w: w, now: time.Now} }

// WriteLine writes b and a newline in one Write. b must not contain a
// newline (json.Marshal output never does).
func (lw *LineWriter) WriteLine(b []byte) error {
	line := make([]byte, 0, len(b)+1)
	line = append(append(line, b...), '\n')
	lw.mu.Lock()
	defer lw.mu.Unlock()
	_, err := lw.w.Write(line)
	return err
}

// Write implements io.Writer: p is written under the same lock as lines,
// so p should hold whole lines.
func (lw *LineWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(p)
}

// Emit writes an event named name with fields (see EncodeEvent), stamped
// with the current time.
func (lw *LineWriter) Emit(name string, fields any) error {
	b, err := EncodeEvent(name, lw.now(), fields)
	if err != nil {
		return err
	}
	return lw.WriteLine(b)
}

// ServeStdio serves one stream of JSON lines: commands from r, responses
// (and, with opts.Events or after subscribe, events) to w. Blank lines and
// lines starting with # are ignored. A malformed or over-long line gets a
// bad_request response and the stream goes on. Without opts.Events it
// returns nil when r ends; with opts.Events it goes on writing events after
// r ends, until ctx ends (so `anyphone endpoint </dev/null` still reports).
// When ctx ends it returns ctx's error; a Read blocked in r may then outlive
// it until r returns. If w is a *LineWriter it is used as is, so the caller
// can Emit its own events on the same stream.
func ServeStdio(ctx context.Context, c Controller, r io.Reader, w io.Writer, opts StdioOptions) error {
	lw, ok := w.(*LineWriter)
	if !ok {
		lw = NewLineWriter(w)
	}
	d := NewDispatcher(c, opts.Logger)

	type line struct {
		b   []byte
		err error
	}
	lines := make(chan line)
	stop := make(chan struct{})
	defer close(stop)
	// The reader goroutine is owned by ServeStdio; it ends when r returns an
	// error or ServeStdio has returned (it may finish its last Read later).
	go func() {
		br := bufio.NewReaderSize(r, 4096)
		for {
			b, err := readLine(br, MaxLine)
			select {
			case lines <- line{b, err}:
			case <-stop:
				return
			}
			if err != nil && !errors.As(err, new(*Error)) {
				return
			}
		}
	}()

	err := d.serveConn(ctx, transport{
		read: func(ctx context.Context) ([]byte, error) {
			select {
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			case l := <-lines:
				if errors.Is(l.err, io.EOF) && opts.Events {
					<-ctx.Done()
					return nil, context.Cause(ctx)
				}
				if l.err == nil {
					t := bytes.TrimSpace(l.b)
					if len(t) == 0 || t[0] == '#' {
						return nil, errSkip
					}
				}
				return l.b, l.err
			}
		},
		write: func(_ context.Context, msg []byte) error { return lw.WriteLine(msg) },
	}, connOptions{events: opts.Events, now: opts.Now})
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// readLine reads one line without its newline. A line longer than max is
// consumed and reported as a bad_request *Error. The last line may lack a
// newline; after it readLine returns io.EOF.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var (
		line    []byte
		tooLong bool
		n       int
	)
	for {
		frag, err := br.ReadSlice('\n')
		n += len(frag)
		if !tooLong {
			if n > max+1 { // +1: the newline
				tooLong, line = true, nil
			} else {
				line = append(line, frag...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (!errors.Is(err, io.EOF) || n == 0) {
			return nil, err
		}
		if tooLong {
			return nil, badRequest("%v: over %d bytes", ErrLineTooLong, max)
		}
		return bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r")), nil
	}
}
