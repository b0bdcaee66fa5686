package phone_test

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

func TestMusicOnHold(t *testing.T) {
	for _, tc := range []struct {
		name  string
		music string
		hear  float64 // what the held party hears; 0: silence
	}{
		{name: "tone", music: "tone:700", hear: 700},
		{name: "none", music: "", hear: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice", HoldMusic: tc.music, HoldDialect: phone.HoldSendonly})
			b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
			id, in := connect(t, a, b, 440, 1000)
			if err := a.Hold(id); err != nil {
				t.Fatal(err)
			}
			b.Events.WaitCall(t, 5*time.Second, "bob held", func(ci phone.CallInfo) bool { return ci.ID == in && ci.RemoteHold })
			time.Sleep(300 * time.Millisecond)
			det := b.Media.Detector(in)
			det.Reset()
			time.Sleep(800 * time.Millisecond)
			if det.Total() == 0 {
				t.Fatalf("held party receives no RTP in sendonly hold")
			}
			if det.Detected(440, 0.3) {
				t.Errorf("held party hears the holder's microphone (440 Hz)")
			}
			if tc.hear > 0 && !det.Detected(tc.hear, 0.5) {
				t.Errorf("held party does not hear music %g Hz (ratio %.2f)", tc.hear, det.Ratio(tc.hear))
			}
			if err := a.Resume(id); err != nil {
				t.Fatal(err)
			}
			b.Events.WaitCall(t, 5*time.Second, "bob resumed", func(ci phone.CallInfo) bool { return ci.ID == in && !ci.RemoteHold })
			det.Reset()
			b.Media.WaitTone(t, in, 440, 5*time.Second)
		})
	}
}

func TestOwnReInvitesSerialised(t *testing.T) {
	a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
	id, in := connect(t, a, b, 440, 1000)
	// Several goroutines hold and resume the same call at once: each
	// re-INVITE waits for the previous one (no 491 from ourselves).
	errs := make(chan error, 6)
	for i := range 6 {
		go func() {
			if i%2 == 0 {
				errs <- a.Hold(id)
			} else {
				errs <- a.Resume(id)
			}
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatalf("hold/resume: %v", err)
		}
	}
	if err := a.Resume(id); err != nil {
		t.Fatal(err)
	}
	b.Events.WaitCall(t, 5*time.Second, "bob resumed", func(ci phone.CallInfo) bool { return ci.ID == in && !ci.RemoteHold })
	a.Media.Detector(id).Reset()
	b.Media.Detector(in).Reset()
	a.Media.WaitTone(t, id, 1000, 5*time.Second)
	b.Media.WaitTone(t, in, 440, 5*time.Second)
}

func TestBothEndsHoldAndResume(t *testing.T) {
	a := phonetest.NewPhone(t, 440, &phone.Config{Name: "alice"})
	b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob"})
	id, in := connect(t, a, b, 440, 1000)
	steps := []struct {
		name string
		do   func() error
	}{
		{"alice holds", func() error { return a.Hold(id) }},
		{"bob holds", func() error { return b.Hold(in) }},
		{"alice resumes", func() error { return a.Resume(id) }},
		{"bob resumes", func() error { return b.Resume(in) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
	}
	a.Events.WaitCall(t, 5*time.Second, "alice not held", func(ci phone.CallInfo) bool { return ci.ID == id && !ci.RemoteHold && !ci.LocalHold })
	a.Media.Detector(id).Reset()
	b.Media.Detector(in).Reset()
	a.Media.WaitTone(t, id, 1000, 5*time.Second)
	b.Media.WaitTone(t, in, 440, 5*time.Second)
}
