package phone_test

import (
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

// TestWidebandCodecs: two phones negotiate the callee's most preferred
// codec of those the caller offers (we answer in our order), carry a tone both ways through it, and a
// 6 kHz tone (both phones' audio at 48 kHz) survives G.722 and Opus but not
// PCMU, whose 8 kHz sampling cannot carry it.
func TestWidebandCodecs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		caller   []string
		callee   []string
		want     string
		wideband bool
	}{
		{"opus", []string{"PCMU", "opus"}, []string{"opus", "PCMU"}, "opus", true},
		{"G722", []string{"opus", "g722", "pcmu"}, []string{"PCMA", "G722", "opus", "PCMU"}, "G722", true},
		{"callee lacks wideband", []string{"opus", "G722", "PCMU"}, []string{"PCMU"}, "PCMU", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := phonetest.NewPhone(t, 6000, &phone.Config{Name: "alice", Codecs: tc.caller, AudioRate: 48000})
			b := phonetest.NewPhone(t, 1000, &phone.Config{Name: "bob", Codecs: tc.callee, AudioRate: 48000})
			id, err := a.Dial(t.Context(), b.URI(), phone.DialOptions{})
			if err != nil {
				t.Fatal(err)
			}
			in := answerOn(t, b)
			active := a.Events.WaitState(t, id, phone.CallActive)
			if active.Codec != tc.want {
				t.Fatalf("caller codec = %q, want %q", active.Codec, tc.want)
			}
			if got := b.Events.WaitState(t, in.ID, phone.CallActive).Codec; got != tc.want {
				t.Fatalf("callee codec = %q, want %q", got, tc.want)
			}
			a.Media.WaitTone(t, id, 1000, 5*time.Second)
			if tc.wideband {
				b.Media.WaitTone(t, in.ID, 6000, 5*time.Second)
				return
			}
			time.Sleep(time.Second)
			d := b.Media.Detector(in.ID)
			if d == nil || d.Total() < 24000 {
				t.Fatalf("callee got no audio")
			}
			if r := d.Ratio(6000); r > 0.1 {
				t.Fatalf("6 kHz crossed %s (ratio %.2f)", tc.want, r)
			}
		})
	}
}

// TestCodecsConfig: bad codec lists are refused by field name.
func TestCodecsConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		codecs []string
	}{
		{"unknown", []string{"opus", "GSM"}},
		{"twice", []string{"PCMU", "pcmu"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := phone.Config{Codecs: tc.codecs}
			err := c.Validate()
			if err == nil {
				t.Fatalf("%v accepted", tc.codecs)
			}
			t.Log(err)
		})
	}
	c := phone.Config{AudioRate: 22050}
	if c.Validate() == nil {
		t.Fatal("audio_rate 22050 accepted")
	}
}
