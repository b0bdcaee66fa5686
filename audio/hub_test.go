package audio

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"
)

// hubFrames runs the hub's capture and playout n times by hand while the
// "calls" exchange frames with their ports: each call writes a frame of its
// far-end tone and reads what it would send.
func hubFrames(h *Hub, n int, far map[string]*Tone, sent map[string]*Capture) {
	buf := make([]int16, h.n)
	for range n {
		_ = h.captureFrame()
		for id, tone := range far {
			p := h.Port(id)
			_ = tone.ReadFrame(buf)
			_ = p.WriteFrame(buf)
			_ = p.ReadFrame(buf)
			if c := sent[id]; c != nil {
				_ = c.WriteFrame(buf)
			}
		}
		_ = h.playFrame()
	}
}

// hears reports whether samples carry freq at a real share of their power.
func hears(samples []int16, freq float64) bool {
	return Goertzel(samples, Narrowband.SampleRate, freq) > 0.002
}

func TestHubRouting(t *testing.T) {
	const mic, farA, farB = 440.0, 1000.0, 1500.0
	tests := []struct {
		name        string
		live        []string
		wantSpeaker map[float64]bool
		wantSentA   map[float64]bool
		wantSentB   map[float64]bool
	}{
		{name: "one live call", live: []string{"a"},
			wantSpeaker: map[float64]bool{farA: true, farB: false, mic: false},
			wantSentA:   map[float64]bool{mic: true, farB: false},
			wantSentB:   map[float64]bool{mic: false, farA: false}},
		{name: "no live call", live: nil,
			wantSpeaker: map[float64]bool{farA: false, farB: false},
			wantSentA:   map[float64]bool{mic: false},
			wantSentB:   map[float64]bool{mic: false}},
		{name: "conference", live: []string{"a", "b"},
			wantSpeaker: map[float64]bool{farA: true, farB: true, mic: false},
			wantSentA:   map[float64]bool{mic: true, farB: true, farA: false},
			wantSentB:   map[float64]bool{mic: true, farA: true, farB: false}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spk := NewPipe(0)
			h := NewHub(NewTone(Narrowband, mic, 0.2), spk, Narrowband)
			h.Port("a")
			h.Port("b")
			for _, id := range tc.live {
				h.SetLive(id, true)
			}
			sent := map[string]*Capture{"a": NewCapture(0), "b": NewCapture(0)}
			hubFrames(h, 50, map[string]*Tone{"a": NewTone(Narrowband, farA, 0.2), "b": NewTone(Narrowband, farB, 0.2)}, sent)
			check := func(what string, s []int16, want map[float64]bool) {
				if len(s) < 8000 {
					t.Fatalf("%s: %s: %d samples, want a second", tc.name, what, len(s))
				}
				for f, w := range want {
					if got := hears(s, f); got != w {
						t.Errorf("%s: %s hears %g Hz = %v, want %v (power %.4f)", tc.name, what, f, got, w, Goertzel(s, 8000, f))
					}
				}
			}
			check("speaker", spk.Received(), tc.wantSpeaker)
			check("call a", sent["a"].Samples(), tc.wantSentA)
			check("call b", sent["b"].Samples(), tc.wantSentB)
		})
	}
}

func TestHubCue(t *testing.T) {
	tests := []struct {
		name   string
		cue    Cue
		frames int
		want   bool
	}{
		{name: "ring sounds in its first second", cue: CueRing, frames: 50, want: true},
		{name: "waiting beeps", cue: CueWaiting, frames: 30, want: true},
		{name: "none is silent", cue: CueNone, frames: 50, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spk := NewPipe(0)
			h := NewHub(&Null{}, spk, Narrowband)
			h.SetCue(tc.cue)
			hubFrames(h, tc.frames, nil, nil)
			if got := hears(spk.Received(), CueFrequency); got != tc.want {
				t.Errorf("%s: speaker hears %d Hz = %v, want %v", tc.name, CueFrequency, got, tc.want)
			}
		})
	}
}

func TestCueCadence(t *testing.T) {
	// power of the cue in consecutive 100 ms windows: on (1) or off (0)
	tests := []struct {
		name string
		cue  Cue
		want string // one char per 100 ms
	}{
		{name: "ring", cue: CueRing, want: "1111111111" + strings.Repeat("0", 40) + "11111"},
		{name: "waiting", cue: CueWaiting, want: "110011" + strings.Repeat("0", 44) + "110011"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewCueSource(Narrowband, tc.cue)
			buf := make([]int16, 800)
			got := make([]byte, len(tc.want))
			for i := range got {
				_ = s.ReadFrame(buf)
				got[i] = '0'
				if MeanSquare(buf) > 1e-4 {
					got[i] = '1'
				}
			}
			if string(got) != tc.want {
				t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
			}
		})
	}
}

func TestMixSaturates(t *testing.T) {
	tests := []struct {
		name string
		a, b int16
		want int16
	}{
		{"plain", 1000, 2000, 3000},
		{"positive clip", 30000, 10000, math.MaxInt16},
		{"negative clip", -30000, -10000, math.MinInt16},
		{"cancel", 5000, -5000, 0},
	}
	for _, tc := range tests {
		dst := []int16{tc.a}
		mixInto(dst, []int16{tc.b})
		if dst[0] != tc.want {
			t.Errorf("%s: %d+%d = %d, want %d", tc.name, tc.a, tc.b, dst[0], tc.want)
		}
	}
}

func TestHubPortLifecycle(t *testing.T) {
	h := NewHub(&Null{}, &Null{}, Narrowband)
	p := h.Port("a")
	if h.Port("a") != p {
		t.Fatal("Port twice: different ports")
	}
	h.SetLive("a", true)
	h.SetLive("unknown", true) // ignored
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	buf := make([]int16, 160)
	if err := p.ReadFrame(buf); err != ErrClosed {
		t.Errorf("read after close: %v, want ErrClosed", err)
	}
	if err := p.WriteFrame(buf); err != ErrClosed {
		t.Errorf("write after close: %v, want ErrClosed", err)
	}
	if q := h.Port("a"); q == p {
		t.Error("a closed port came back")
	}
}

func TestHubRunAndClose(t *testing.T) {
	spk := NewPipe(0)
	h := NewHub(NewTone(Narrowband, 440, 0.2), spk, Narrowband)
	p := h.Port("a")
	h.SetLive("a", true)
	done := make(chan error, 1)
	go func() { done <- h.Run(context.Background()) }()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// The call side: read what to send until the microphone tone shows up.
	buf := make([]int16, 160)
	got := NewCapture(0)
	for got.Len() < 4000 && ctx.Err() == nil {
		_ = p.ReadFrame(buf)
		_ = got.WriteFrame(buf)
		time.Sleep(20 * time.Millisecond) // not a wait: paces the call side like a 20 ms RTP frame
	}
	if _, err := spk.WaitReceived(ctx, 1600); err != nil {
		t.Fatalf("speaker got nothing: %v", err)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after Close")
	}
	if !hears(got.Samples(), 440) {
		t.Error("the call did not get the microphone through Run")
	}
	mic, _ := h.Levels()
	if mic < 0.15 || mic > 0.25 {
		t.Errorf("mic level %.3f, want about 0.2", mic)
	}
}

func TestHubFrameAllocs(t *testing.T) {
	h := NewHub(NewTone(Narrowband, 440, 0.2), &Null{}, Narrowband)
	a, b := h.Port("a"), h.Port("b")
	h.SetLive("a", true)
	h.SetLive("b", true)
	h.SetCue(CueWaiting)
	buf := make([]int16, 160)
	allocs := testing.AllocsPerRun(200, func() {
		_ = h.captureFrame()
		_ = a.WriteFrame(buf)
		_ = b.WriteFrame(buf)
		_ = a.ReadFrame(buf)
		_ = b.ReadFrame(buf)
		_ = h.playFrame()
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per frame, want 0", allocs)
	}
}

// TestHubSetDevice switches the device between frames while a live call
// goes on: before the switch the call sends the first microphone and the
// first speaker plays the call, after it the second ones do, and the call
// never sends a silent frame or loses its port.
func TestHubSetDevice(t *testing.T) {
	const mic1, mic2, far = 440.0, 700.0, 1000.0
	tests := []struct {
		name      string
		nilDevice bool // switch to SetDevice(nil, nil): Null
	}{
		{name: "tone to tone"},
		{name: "to null", nilDevice: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spk1, spk2 := NewPipe(0), NewPipe(0)
			h := NewHub(NewTone(Narrowband, mic1, 0.2), spk1, Narrowband)
			p := h.Port("a")
			h.SetLive("a", true)
			before, after := NewCapture(0), NewCapture(0)
			farTone := map[string]*Tone{"a": NewTone(Narrowband, far, 0.2)}
			hubFrames(h, 50, farTone, map[string]*Capture{"a": before})
			var src Source = NewTone(Narrowband, mic2, 0.2)
			var snk Sink = spk2
			if tc.nilDevice {
				src, snk = nil, nil
			}
			oldSrc, oldSink := h.SetDevice(src, snk)
			if oldSink != Sink(spk1) {
				t.Errorf("%s: SetDevice returned sink %T, want the first pipe", tc.name, oldSink)
			}
			if _, ok := oldSrc.(*Tone); !ok {
				t.Errorf("%s: SetDevice returned source %T, want the first tone", tc.name, oldSrc)
			}
			played := len(spk1.Received())
			hubFrames(h, 50, farTone, map[string]*Capture{"a": after})
			if h.Port("a") != p {
				t.Fatalf("%s: the call lost its port", tc.name)
			}
			if got := len(spk1.Received()); got != played {
				t.Errorf("%s: old speaker got %d samples after the switch", tc.name, got-played)
			}
			if !hears(before.Samples(), mic1) || hears(before.Samples(), mic2) {
				t.Errorf("%s: before the switch the call did not send only the first microphone", tc.name)
			}
			if !hears(spk1.Received(), far) {
				t.Errorf("%s: the first speaker did not play the call", tc.name)
			}
			s := after.Samples()
			if tc.nilDevice {
				// One frame of the first microphone was queued before the switch.
				if hears(s[2*h.n:], mic1) || MeanSquare(s[2*h.n:]) != 0 {
					t.Errorf("%s: after switching to null the call still sends sound", tc.name)
				}
				return
			}
			if !hears(s, mic2) {
				t.Errorf("%s: after the switch the call does not send the second microphone", tc.name)
			}
			if hears(s[2*h.n:], mic1) {
				t.Errorf("%s: the first microphone is still sent after the switch", tc.name)
			}
			for i := 0; i+h.n <= len(s); i += h.n {
				if MeanSquare(s[i:i+h.n]) == 0 {
					t.Fatalf("%s: frame %d after the switch is silent: the call dropped audio", tc.name, i/h.n)
				}
			}
			if !hears(spk2.Received(), far) || len(spk2.Received()) < 50*h.n {
				t.Errorf("%s: the second speaker did not play the call (%d samples)", tc.name, len(spk2.Received()))
			}
		})
	}
}

// TestHubSetDeviceWhileRunning switches between pipes while Run moves
// audio and a call reads and writes its port in real time (run with
// -race): the call hears each pipe's pushes and each speaker plays it.
func TestHubSetDeviceWhileRunning(t *testing.T) {
	mic1, mic2 := NewPipe(0), NewPipe(0)
	h := NewHub(mic1, mic1, Narrowband)
	p := h.Port("a")
	h.SetLive("a", true)
	done := make(chan error, 1)
	go func() { done <- h.Run(t.Context()) }()
	defer func() {
		_ = h.Close()
		<-done
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	tone := func(hz float64) []int16 {
		s := make([]int16, 8000)
		_ = NewTone(Narrowband, hz, 0.3).ReadFrame(s)
		return s
	}
	// call runs the call side for d: it sends far and keeps what it got.
	call := func(far []int16, d time.Duration) *Capture {
		got := NewCapture(0)
		buf := make([]int16, h.n)
		end := time.Now().Add(d)
		for i := 0; time.Now().Before(end) && ctx.Err() == nil; i++ {
			copy(buf, far[(i*h.n)%len(far):])
			_ = p.WriteFrame(buf)
			_ = p.ReadFrame(buf)
			_ = got.WriteFrame(buf)
			time.Sleep(h.f.Frame) // not a wait: paces the call side at the frame rate
		}
		return got
	}
	_ = mic1.Push(tone(440))
	got1 := call(tone(1000), 600*time.Millisecond)
	old, _ := h.SetDevice(mic2, mic2)
	if old != Source(mic1) {
		t.Fatalf("SetDevice returned %T, want the first pipe", old)
	}
	_ = mic1.Close()
	_ = mic2.Push(tone(700))
	got2 := call(tone(1500), 600*time.Millisecond)

	if !hears(got1.Samples(), 440) {
		t.Error("before the switch the call did not hear the first microphone")
	}
	if !hears(got2.Samples(), 700) {
		t.Error("after the switch the call did not hear the second microphone")
	}
	if !hears(mic1.Received(), 1000) {
		t.Error("the first speaker did not play the call")
	}
	if _, err := mic2.WaitReceived(ctx, 1600); err != nil || !hears(mic2.Received(), 1500) {
		t.Errorf("the second speaker did not play the call (err %v)", err)
	}
}

// needDevice is a Null that records what the hub says it needs.
type needDevice struct {
	Null
	mu    sync.Mutex
	needs []bool
}

func (d *needDevice) SetNeeded(n bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.needs = append(d.needs, n)
}

func (d *needDevice) last() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.needs) > 0 && d.needs[len(d.needs)-1]
}

// TestHubNeedsDeviceOnlyForCallsAndCues: the hub needs its device while a
// call has a port or a cue plays, and lets it go after (an idle phone
// holds no stream).
func TestHubNeedsDeviceOnlyForCallsAndCues(t *testing.T) {
	d := &needDevice{}
	h := NewHub(d, d, Narrowband)
	steps := []struct {
		name string
		do   func()
		want bool
	}{
		{"idle", func() {}, false},
		{"ringing tone", func() { h.SetCue(CueRing) }, true},
		{"ringing stops", func() { h.SetCue(CueNone) }, false},
		{"a call", func() { h.Port("a") }, true},
		{"a second call", func() { h.Port("b") }, true},
		{"first ends", func() { _ = h.Port("a").Close() }, true},
		{"last ends", func() { _ = h.Port("b").Close() }, false},
	}
	for i, st := range steps {
		st.do()
		if got := d.last(); got != st.want {
			t.Errorf("step %d %s: needed %v, want %v", i, st.name, got, st.want)
		}
	}
	other := &needDevice{}
	h.Port("c")
	h.SetDevice(other, other)
	if !other.last() {
		t.Error("a device switched in during a call is not told it is needed")
	}
}

// fakeJitter records what a port puts and plays a marked frame on Get.
type fakeJitter struct {
	mu     sync.Mutex
	puts   []uint32
	gets   int
	resets int
	closed bool
}

func (j *fakeJitter) Put(frame []int16, ts uint32, seq uint16) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.puts = append(j.puts, ts)
}

func (j *fakeJitter) Get(dst []int16) JitterResult {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.gets++
	for i := range dst {
		dst[i] = 7
	}
	return JitterPlayed
}

func (j *fakeJitter) Reset()             { j.mu.Lock(); j.resets++; j.mu.Unlock() }
func (j *fakeJitter) Stats() JitterStats { return JitterStats{} }
func (j *fakeJitter) Close() error       { j.mu.Lock(); j.closed = true; j.mu.Unlock(); return nil }

// TestHubPortJitterBuffer: with a jitter buffer built in, a port puts
// timed frames into it and the speaker plays what it gives out.
func TestHubPortJitterBuffer(t *testing.T) {
	var jbs []*fakeJitter
	RegisterJitterBuffer(func(Format) JitterBuffer { j := &fakeJitter{}; jbs = append(jbs, j); return j })
	defer newJitter.Store(nil)
	spk := NewCapture(0)
	h := NewHub(new(Null), spk, Narrowband)
	p := h.Port("a")
	h.SetLive("a", true)
	frame := make([]int16, Narrowband.Samples())
	if err := p.WriteTimed(frame, 160, 1); err != nil {
		t.Fatal(err)
	}
	if err := h.playFrame(); err != nil {
		t.Fatal(err)
	}
	j := jbs[0]
	if len(j.puts) != 1 || j.puts[0] != 160 || j.gets != 1 {
		t.Errorf("jitter buffer: puts %v, gets %d", j.puts, j.gets)
	}
	if got := spk.Samples(); len(got) == 0 || got[0] != 7 {
		t.Errorf("speaker did not play the jitter buffer's frame: %v", got[:min(len(got), 4)])
	}
	h.SetLive("a", false)
	_ = p.Close()
	if j.resets != 2 || !j.closed { // going live and leaving it both start over
		t.Errorf("resets %d closed %v", j.resets, j.closed)
	}
}

// fakeEC records what the hub tells it and marks what it cleans.
type fakeEC struct {
	mu           sync.Mutex
	plays, capts int
}

func (e *fakeEC) Playback([]int16) { e.mu.Lock(); e.plays++; e.mu.Unlock() }
func (e *fakeEC) Capture(mic, out []int16) {
	e.mu.Lock()
	e.capts++
	e.mu.Unlock()
	for i := range out {
		out[i] = 3
	}
}
func (e *fakeEC) Close() error { return nil }

// TestHubEchoCanceller: with a canceller set, the speaker's frames are its
// reference and calls send what it cleaned; idle, it is not run.
func TestHubEchoCanceller(t *testing.T) {
	mic := NewTone(Narrowband, 440, 0.5)
	h := NewHub(mic, new(Null), Narrowband)
	ec := &fakeEC{}
	if old := h.SetEchoCanceller(ec); old != nil {
		t.Fatalf("a canceller before any was set: %v", old)
	}
	_ = h.captureFrame()
	_ = h.playFrame()
	if ec.capts != 0 || ec.plays != 0 {
		t.Errorf("idle hub ran the canceller: %d captures, %d playbacks", ec.capts, ec.plays)
	}
	p := h.Port("a")
	h.SetLive("a", true)
	_ = h.captureFrame()
	_ = h.playFrame()
	if ec.capts != 1 || ec.plays != 1 {
		t.Errorf("in a call: %d captures, %d playbacks, want 1 each", ec.capts, ec.plays)
	}
	got := make([]int16, Narrowband.Samples())
	_ = p.ReadFrame(got)
	if got[0] != 3 || got[len(got)-1] != 3 {
		t.Errorf("the call sent %v..., not the cleaned frame", got[:4])
	}
	if old := h.SetEchoCanceller(nil); old != ec {
		t.Error("SetEchoCanceller(nil) did not return the canceller in use")
	}
}
