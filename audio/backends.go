package audio

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// Open opens the backend named by spec for format f and returns its source,
// its sink and a closer that releases both (always call it). Specs:
//
//	null              silence in, discard out
//	tone:HZ[,AMP]     a sine of HZ hertz (AMP: fraction of full scale, default 0.3); discard out
//	wav:PATH          loop a 16-bit PCM WAV file (converted to f); discard out
//	wav-once:PATH     play the WAV file once, then io.EOF; discard out
//	echo              what the sink gets, the source yields a few frames later
//	pipe              a *Pipe as both source and sink, for tests
//	record:PATH       silence in, out recorded to a WAV file
//	NAME[:ARG]        a backend registered with RegisterBackend, e.g. portaudio
//	auto              the default devices of the first of DefaultDeviceBackends that opens
//
// Any spec may end in "+record:PATH" to record what the sink receives as
// well, e.g. "echo+record:/tmp/call.wav"; everything after "+record:" is the
// path. Open never falls back: a spec that cannot be opened returns a
// *SpecError naming it. See OpenDevice for the "auto" fallback to null.
func Open(spec string, f Format) (Source, Sink, io.Closer, error) {
	return openSpec(spec, f, slog.Default())
}

// openSpec is Open with a logger for registered backends.
func openSpec(spec string, f Format, log *slog.Logger) (Source, Sink, io.Closer, error) {
	if f.SampleRate <= 0 || f.Samples() <= 0 {
		return nil, nil, nil, &SpecError{Spec: spec, Err: badSpec("format %+v has no samples per frame", f)}
	}
	base, recPath, hasRec := strings.Cut(spec, "+record:")
	if !hasRec {
		if p, ok := strings.CutPrefix(spec, "record:"); ok {
			base, recPath, hasRec = "null", p, true
		}
	}
	if hasRec && recPath == "" {
		return nil, nil, nil, &SpecError{Spec: spec, Err: badSpec("record needs a file path")}
	}
	src, sink, closer, err := openBase(base, f, log)
	if err != nil {
		return nil, nil, nil, &SpecError{Spec: spec, Err: err}
	}
	if !hasRec {
		return src, sink, closer, nil
	}
	rec, err := NewWAVWriter(recPath, f)
	if err != nil {
		return nil, nil, nil, &SpecError{Spec: spec, Err: errors.Join(err, closer.Close())}
	}
	return src, Tee(sink, rec), multiCloser{closer, rec}, nil
}

// openBase opens one backend spec without a record suffix.
func openBase(spec string, f Format, log *slog.Logger) (Source, Sink, io.Closer, error) {
	name, arg, hasArg := strings.Cut(spec, ":")
	noArg := func() error {
		if hasArg {
			return badSpec("%s takes no argument", name)
		}
		return nil
	}
	switch name {
	case "null":
		if err := noArg(); err != nil {
			return nil, nil, nil, err
		}
		n := new(Null)
		return n, n, n, nil
	case "tone":
		t, err := parseTone(arg, f)
		if err != nil {
			return nil, nil, nil, err
		}
		n := new(Null)
		return t, n, multiCloser{t, n}, nil
	case "wav", "wav-once":
		if arg == "" {
			return nil, nil, nil, badSpec("%s needs a file path", name)
		}
		s, err := OpenWAVSource(arg, f, name == "wav")
		if err != nil {
			return nil, nil, nil, err
		}
		n := new(Null)
		return s, n, multiCloser{s, n}, nil
	case "echo":
		if err := noArg(); err != nil {
			return nil, nil, nil, err
		}
		e := NewEcho(f, 0)
		return e, e, e, nil
	case "pipe":
		if err := noArg(); err != nil {
			return nil, nil, nil, err
		}
		p := NewPipe(0)
		return p, p, p, nil
	case "":
		return nil, nil, nil, badSpec("empty backend name")
	case "auto":
		if err := noArg(); err != nil {
			return nil, nil, nil, err
		}
		return openAuto(f, log)
	}
	b, ok := lookupBackend(name)
	if !ok {
		return nil, nil, nil, &kindError{
			msg:  fmt.Sprintf("unknown backend %q (want null, tone:HZ, wav:PATH, wav-once:PATH, echo, pipe, record:PATH%s)", name, registeredList()),
			kind: ErrUnknownBackend,
		}
	}
	return b.Open(arg, f, log)
}

// parseTone parses the argument of "tone:HZ[,AMP]".
func parseTone(arg string, f Format) (*Tone, error) {
	hzText, ampText, hasAmp := strings.Cut(arg, ",")
	nyquist := float64(f.SampleRate) / 2
	hz, err := strconv.ParseFloat(strings.TrimSpace(hzText), 64)
	if err != nil || !(hz > 0 && hz < nyquist) {
		return nil, badSpec("tone frequency %q: want hertz above 0 and below %g", hzText, nyquist)
	}
	amp := DefaultToneAmplitude
	if hasAmp {
		amp, err = strconv.ParseFloat(strings.TrimSpace(ampText), 64)
		if err != nil || !(amp > 0 && amp <= 1) {
			return nil, badSpec("tone amplitude %q: want a fraction of full scale in (0, 1]", ampText)
		}
	}
	return NewTone(f, hz, amp), nil
}

// Tee returns a Sink that writes every frame to each of sinks in order. A
// failing sink does not stop the others; the errors are joined. Nil sinks are
// skipped. WriteFrame does not allocate unless a sink fails.
func Tee(sinks ...Sink) Sink {
	var t tee
	for _, s := range sinks {
		if s != nil {
			t = append(t, s)
		}
	}
	if len(t) == 1 {
		return t[0]
	}
	return t
}

type tee []Sink

func (t tee) WriteFrame(src []int16) error {
	var errs []error
	for _, s := range t {
		if err := s.WriteFrame(src); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// multiCloser closes each closer in order and joins their errors.
type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var errs []error
	for _, c := range m {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
