// Package endpoint is the scripted behaviour of the headless test endpoint
// (and of the TUI's built-in test contacts): answer mode and delay,
// hangup-after, audio source, recording, DTMF to send, and what to expect
// (tone, digits, number of calls). It drives cti.Service exactly as a user
// would, through its commands and events.
//
// It must not import ui, sipgo, diago or pion.
package endpoint

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/anyphone/anyphone/audio"
	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/phone"
)

// AnswerMode says what to do with incoming calls.
type AnswerMode int

const (
	AnswerAuto   AnswerMode = iota // answer after AnswerDelay
	AnswerManual                   // leave ringing; a command answers
	AnswerReject                   // reject with RejectCode
)

// ParseAnswerMode parses auto, manual or reject.
func ParseAnswerMode(s string) (AnswerMode, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return AnswerAuto, nil
	case "manual":
		return AnswerManual, nil
	case "reject":
		return AnswerReject, nil
	}
	return 0, fmt.Errorf("answer: %q is not auto, manual or reject", s)
}

// Behavior is the script. The zero value auto-answers at once and sends
// silence.
type Behavior struct {
	Answer      AnswerMode
	AnswerDelay time.Duration
	RejectCode  int           // default 486
	HangupAfter time.Duration // 0: never
	Audio       string        // audio.Open spec: null, tone:HZ, wav:PATH, echo
	Record      string        // WAV path per call; "%c" becomes the call id
	DTMF        string        // digits sent after each call becomes active
	DTMFDelay   time.Duration // default 500 ms
	ExpectTone  float64       // Hz every answered call must hear
	// AudioRate is the rate of the audio, as the phone's Config.AudioRate:
	// 0 for 8 kHz, phone.AudioRateCodec for the codec's own rate (a 6 kHz
	// tone then crosses G.722 and Opus).
	AudioRate int
	// Script is run on each call from the moment it becomes active
	// (script.go).
	Script []Step
}

// Stats is what happened so far.
type Stats struct {
	Calls    int    `json:"calls"`    // calls seen (both directions)
	Answered int    `json:"answered"` // reached active
	Ended    int    `json:"ended"`    // answered calls that ended normally
	Failed   int    `json:"failed"`   // ended without being answered, or failed
	DTMF     string `json:"dtmf"`     // digits received, in order
	ToneMiss int    `json:"tone_missed"`
}

// Endpoint runs a Behavior against a Service.
type Endpoint struct {
	b   Behavior
	log *slog.Logger
	svc *cti.Service

	mu        sync.Mutex
	stats     Stats
	seen      map[cti.CallID]bool
	active    map[cti.CallID]bool
	detectors map[cti.CallID]*audio.ToneDetector
	heard     map[cti.CallID]bool
	changed   chan struct{}
	// Tone is called when a call with ExpectTone ends: whether it heard it.
	OnTone func(id cti.CallID, hz float64, detected bool)
	// OnScriptError is called when a script step fails.
	OnScriptError func(id cti.CallID, st Step, err error)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds an endpoint. Pass its Media as phone.Config.Media, create the
// Service, then Attach it.
func New(b Behavior, log *slog.Logger) *Endpoint {
	if b.RejectCode == 0 {
		b.RejectCode = 486
	}
	if b.DTMFDelay == 0 {
		b.DTMFDelay = 500 * time.Millisecond
	}
	if b.Audio == "" {
		b.Audio = "null"
	}
	if log == nil {
		log = slog.Default()
	}
	e := &Endpoint{
		b: b, log: log,
		seen:      map[cti.CallID]bool{},
		active:    map[cti.CallID]bool{},
		detectors: map[cti.CallID]*audio.ToneDetector{},
		heard:     map[cti.CallID]bool{},
		changed:   make(chan struct{}),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

// Validate checks the audio spec (by opening it once) and the numbers.
func (b Behavior) Validate() error {
	if b.AnswerDelay < 0 || b.HangupAfter < 0 {
		return fmt.Errorf("answer_delay/hangup_after: negative duration")
	}
	if b.RejectCode != 0 && (b.RejectCode < 300 || b.RejectCode > 699) {
		return fmt.Errorf("reject_code: %d is not 3xx-6xx", b.RejectCode)
	}
	spec := b.Audio
	if spec == "" {
		spec = "null"
	}
	f := audio.Narrowband
	switch b.AudioRate {
	case 0:
	case phone.AudioRateCodec:
		f.SampleRate = 48000 // the widest: a tone the codec cannot carry is the test's point
	default:
		f.SampleRate = b.AudioRate
	}
	_, _, cl, err := audio.Open(spec, f)
	if err != nil {
		return err // an *audio.SpecError: it names the spec; the caller names the flag
	}
	return cl.Close()
}

// Media gives each call its audio: the Behavior's source, and a sink that
// records and detects the expected tone.
func (e *Endpoint) Media(ci phone.CallInfo) (audio.Source, audio.Sink, error) {
	spec := e.b.Audio
	if e.b.Record != "" {
		spec += "+record:" + strings.ReplaceAll(e.b.Record, "%c", string(ci.ID))
	}
	f := audio.Narrowband
	switch e.b.AudioRate {
	case 0:
	case phone.AudioRateCodec:
		f.SampleRate = phone.CodecRate(ci.Codec)
	default:
		f.SampleRate = e.b.AudioRate
	}
	var (
		src  audio.Source
		sink audio.Sink
		cl   io.Closer
		err  error
	)
	if e.b.Audio != "" && audio.IsDeviceSpec(spec) {
		// A sound card gets the softphone's guard: a lost or stuck device
		// is null audio while it is reopened, never a call stuck in a C
		// call, and closing the call never waits on it.
		var notice string
		src, sink, cl, notice, err = audio.OpenGuardedDevice(spec, f, e.log, audio.GuardOptions{})
		if notice != "" {
			e.log.Warn("audio", "call_id", ci.ID, "notice", notice)
		}
	} else {
		src, sink, cl, err = audio.Open(spec, f)
	}
	if err != nil {
		return nil, nil, err
	}
	sinks := []audio.Sink{sink}
	if e.b.ExpectTone > 0 {
		det := audio.NewToneDetector(f, 400*time.Millisecond)
		e.mu.Lock()
		e.detectors[ci.ID] = det
		e.mu.Unlock()
		sinks = append(sinks, toneWatch{det: det, e: e, id: ci.ID})
	}
	return src, closingSink{Sink: audio.Tee(sinks...), c: cl}, nil
}

// toneWatch marks a call as having heard the tone as soon as it does, so a
// long call that ends in silence still counts.
type toneWatch struct {
	det *audio.ToneDetector
	e   *Endpoint
	id  cti.CallID
}

func (t toneWatch) WriteFrame(src []int16) error {
	_ = t.det.WriteFrame(src)
	if t.det.Detected(t.e.b.ExpectTone, 0.5) {
		t.e.mu.Lock()
		t.e.heard[t.id] = true
		t.e.mu.Unlock()
	}
	return nil
}

type closingSink struct {
	audio.Sink
	c io.Closer
}

func (s closingSink) Close() error { return s.c.Close() }

// Attach starts following svc's events.
func (e *Endpoint) Attach(svc *cti.Service) {
	e.svc = svc
	svc.OnEvent(e.onEvent)
}

// Close stops pending timers and waits for them.
func (e *Endpoint) Close() {
	e.cancel()
	e.wg.Wait()
}

// Stats returns a copy of the counters.
func (e *Endpoint) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stats
}

// Changed is closed at the next change of Stats.
func (e *Endpoint) Changed() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.changed
}

func (e *Endpoint) bumpLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

// after runs f after d unless the endpoint closes first.
func (e *Endpoint) after(d time.Duration, f func()) {
	e.wg.Add(1)
	go func() {
		// A timer goroutine: owned by the Endpoint, joined by Close.
		defer e.wg.Done()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-e.ctx.Done():
		case <-t.C:
			f()
		}
	}()
}

// onEvent runs synchronously on the phone's event path: it only counts and
// schedules, never blocks.
func (e *Endpoint) onEvent(ev cti.Event) {
	switch v := ev.(type) {
	case cti.DTMFReceived:
		e.mu.Lock()
		e.stats.DTMF += v.Digit
		e.bumpLocked()
		e.mu.Unlock()
	case cti.CallChanged:
		e.onCall(v.Call)
	}
}

func (e *Endpoint) onCall(c cti.CallInfo) {
	e.mu.Lock()
	if !e.seen[c.ID] {
		e.seen[c.ID] = true
		e.stats.Calls++
		e.bumpLocked()
	}
	e.mu.Unlock()
	// The closures below capture id, not c: capturing c moved every
	// CallInfo of every event to the heap.
	ctx := context.Background()
	switch c.State {
	case cti.CallIncoming:
		id := c.ID
		switch e.b.Answer {
		case AnswerAuto:
			answer := func() {
				if err := e.svc.Answer(ctx, id); err != nil {
					e.log.Debug("auto answer", "call_id", id, "err", err)
				}
			}
			if e.b.AnswerDelay > 0 {
				e.after(e.b.AnswerDelay, answer)
			} else {
				go answer() // Answer must not run on the event path
			}
		case AnswerReject:
			go func() { _ = e.svc.Reject(ctx, id, e.b.RejectCode, "") }()
		}
	case cti.CallActive:
		e.mu.Lock()
		first := !e.active[c.ID]
		if first {
			e.active[c.ID] = true
			e.stats.Answered++
			e.bumpLocked()
		}
		e.mu.Unlock()
		if !first {
			return
		}
		id := c.ID
		if e.b.HangupAfter > 0 {
			e.after(e.b.HangupAfter, func() { _ = e.svc.Hangup(ctx, id) })
		}
		if e.b.DTMF != "" {
			e.after(e.b.DTMFDelay, func() { _ = e.svc.SendDTMF(ctx, id, e.b.DTMF) })
		}
		for _, st := range e.b.Script {
			e.after(st.At, func() { e.runStep(id, st) })
		}
	case cti.CallEnded:
		e.mu.Lock()
		answered := e.active[c.ID]
		delete(e.active, c.ID)
		delete(e.seen, c.ID) // a call's id is never reused: forget it
		heard := e.heard[c.ID]
		delete(e.heard, c.ID)
		delete(e.detectors, c.ID)
		if answered && c.End != nil && c.End.Cause != phone.EndFailed && c.End.Cause != phone.EndMediaTimeout {
			e.stats.Ended++
		} else {
			e.stats.Failed++
		}
		if answered && e.b.ExpectTone > 0 && !heard {
			e.stats.ToneMiss++
		}
		e.bumpLocked()
		onTone := e.OnTone
		e.mu.Unlock()
		if answered && e.b.ExpectTone > 0 && onTone != nil {
			onTone(c.ID, e.b.ExpectTone, heard)
		}
	}
}
