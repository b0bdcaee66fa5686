package phone_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// pairRelay is a two-call packet relay: what one call receives is sent on
// the other, as the AnyDevice controller does.
type pairRelay struct {
	mu      sync.Mutex
	writers []*phone.PacketWriter
	ids     []phone.CallID
}

type pairPort struct {
	r *pairRelay
	i int
}

func (p pairPort) ReceivePacket(pk phone.Packet) bool {
	p.r.mu.Lock()
	var w *phone.PacketWriter
	if len(p.r.writers) == 2 {
		w = p.r.writers[1-p.i]
	}
	p.r.mu.Unlock()
	if w == nil {
		return false
	}
	w.WritePacket(pk)
	return true
}

func (r *pairRelay) attach(ci phone.CallInfo, w *phone.PacketWriter) phone.PacketPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writers = append(r.writers, w)
	r.ids = append(r.ids, ci.ID)
	if len(r.writers) == 2 {
		for _, w := range r.writers {
			w.SetRelay(true)
		}
	}
	return pairPort{r: r, i: len(r.writers) - 1}
}

func (r *pairRelay) writer(i int) *phone.PacketWriter {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writers[i]
}

// TestPacketRelayBetweenCalls: x calls the relay r, r calls y; r relays
// payloads between its two calls. Tones cross both ways without r's PCM
// sinks seeing a frame, DTMF crosses as telephone-event, and muting one
// call puts its uplink back on PCM (silence).
func TestPacketRelayBetweenCalls(t *testing.T) {
	rel := &pairRelay{}
	x := phonetest.NewPhone(t, 1000, &phone.Config{Name: "x"})
	y := phonetest.NewPhone(t, 2000, &phone.Config{Name: "y"})
	r := phonetest.NewPhone(t, 0, &phone.Config{Name: "r", Packets: rel.attach})

	xr, err := x.Dial(t.Context(), r.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rx := answerOn(t, r)
	x.Events.WaitState(t, xr, phone.CallActive)
	ry, err := r.Dial(t.Context(), y.URI(), phone.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	yr := answerOn(t, y)
	r.Events.WaitState(t, ry, phone.CallActive)

	y.Media.WaitTone(t, yr.ID, 1000, 5*time.Second)
	x.Media.WaitTone(t, xr, 2000, 5*time.Second)
	// Before r's second call existed, its first one was on PCM.
	for _, id := range []phone.CallID{rx.ID, ry} {
		r.Media.Detector(id).Reset()
	}
	// Not a wait: a window in which nothing may arrive (the assertion is
	// that no sample reaches the PCM sinks).
	time.Sleep(300 * time.Millisecond)
	for _, id := range []phone.CallID{rx.ID, ry} {
		if d := r.Media.Detector(id); d.Total() != 0 {
			t.Errorf("relay call %s: PCM sink got %d samples, want none (packets taken)", id, d.Total())
		}
	}
	for i := range 2 {
		if st := rel.writer(i).Stats(); st.Sent == 0 {
			t.Errorf("writer %d sent nothing: %+v", i, st)
		}
	}

	for _, tc := range []struct {
		name   string
		from   *phonetest.Phone
		fromID phone.CallID
		to     *phonetest.Phone
		toID   phone.CallID
		digits string
	}{
		{name: "x to y", from: x, fromID: xr, to: y, toID: yr.ID, digits: "12#"},
		{name: "y to x", from: y, fromID: yr.ID, to: x, toID: xr, digits: "*0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.from.SendDTMF(tc.fromID, tc.digits); err != nil {
				t.Fatal(err)
			}
			got := ""
			tc.to.Events.WaitFor(t, 5*time.Second, fmt.Sprintf("digits %q", tc.digits), func(ev phone.Event) bool {
				if d, ok := ev.(phone.DTMFReceived); ok && d.CallID == tc.toID {
					got += string(d.Digit)
				}
				return got == tc.digits
			})
		})
	}

	// Mute r's call to y: y hears silence (PCM) instead of x's tone.
	if err := r.SetMute(ry, true); err != nil {
		t.Fatal(err)
	}
	// Not waits: tone frames relayed before the mute may still be on the
	// way (no event marks the last one), then y listens for a second.
	time.Sleep(300 * time.Millisecond)
	y.Media.Detector(yr.ID).Reset()
	time.Sleep(time.Second)
	if d := y.Media.Detector(yr.ID); d.Detected(1000, 0.2) {
		t.Errorf("muted: y still hears x (ratio %.2f)", d.Ratio(1000))
	}
	if err := r.SetMute(ry, false); err != nil {
		t.Fatal(err)
	}
	y.Media.Detector(yr.ID).Reset()
	y.Media.WaitTone(t, yr.ID, 1000, 5*time.Second)
}
