package interop

import (
	"os"
	"testing"
	"time"

	"github.com/anyphone/anyphone/audio"
)

// writeToneWAV writes a tone of hz hertz lasting d to path as an 8 kHz mono
// 16-bit WAV (what baresip's aufile source needs for PCMU).
func writeToneWAV(t *testing.T, path string, hz float64, d time.Duration) {
	t.Helper()
	writeToneWAVAt(t, path, hz, 8000, d)
}

// writeToneWAVAt is writeToneWAV at another sample rate (16 kHz for
// G.722, 48 kHz for Opus).
func writeToneWAVAt(t *testing.T, path string, hz float64, rate int, d time.Duration) {
	t.Helper()
	writeToneWAVFormat(t, path, hz, audio.Format{SampleRate: rate, Channels: 1, Frame: audio.Narrowband.Frame}, d)
}

// writeToneWAVFormat is writeToneWAV in format f (baresip's aufile wants
// two channels for Opus).
func writeToneWAVFormat(t *testing.T, path string, hz float64, f audio.Format, d time.Duration) {
	t.Helper()
	tone := audio.NewTone(f, hz, audio.DefaultToneAmplitude)
	samples := make([]int16, int(int64(f.SampleRate)*int64(d)/int64(time.Second))*max(f.Channels, 1))
	if err := tone.ReadFrame(samples); err != nil {
		t.Fatal(err)
	}
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := audio.WriteWAV(w, f, samples); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// toneStats measures a recorded WAV: seconds of audio, seconds louder than
// -40 dBFS, and the share of the loud audio's power at hz (Goertzel over
// 100 ms blocks, so packet loss or jitter at the edges barely matters).
type toneStats struct {
	Seconds, LoudSeconds, Ratio float64
}

func measureTone(t *testing.T, path string, hz float64) toneStats {
	t.Helper()
	return measureToneAt(t, path, hz, 8000)
}

// measureToneAt is measureTone with the recording converted to rate first
// (48000 to measure a 6 kHz tone).
func measureToneAt(t *testing.T, path string, hz float64, rate int) toneStats {
	t.Helper()
	f := audio.Narrowband
	f.SampleRate = rate
	samples, err := audio.LoadWAV(path, f)
	if err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	block := rate / 10
	var st toneStats
	st.Seconds = float64(len(samples)) / float64(rate)
	var power, total float64
	for i := 0; i+block <= len(samples); i += block {
		b := samples[i : i+block]
		ms := audio.MeanSquare(b)
		if ms < 1e-4 { // -40 dBFS: silence or comfort noise
			continue
		}
		st.LoudSeconds += float64(block) / float64(rate)
		power += audio.Goertzel(b, rate, hz)
		total += ms
	}
	if total > 0 {
		st.Ratio = power / total
	}
	return st
}

// assertTone fails unless the WAV at path holds at least minLoud seconds of
// audio of which at least half the power is at hz.
func assertTone(t *testing.T, path string, hz float64, minLoud time.Duration) {
	t.Helper()
	st := measureTone(t, path, hz)
	t.Logf("%s: %.2f s, %.2f s loud, %.0f Hz ratio %.3f", path, st.Seconds, st.LoudSeconds, hz, st.Ratio)
	if st.LoudSeconds < minLoud.Seconds() || st.Ratio < 0.5 {
		t.Errorf("%s: want >= %v of %.0f Hz (ratio >= 0.5), got %.2f s loud at ratio %.3f",
			path, minLoud, hz, st.LoudSeconds, st.Ratio)
	}
}

// TestToneHelpers checks the WAV helpers on their own output, so a broken
// detector cannot make the interop tests pass.
func TestToneHelpers(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		write   float64
		measure float64
		wantHit bool
	}{
		{"same frequency", 440, 440, true},
		{"other frequency", 440, 1000, false},
		{"1000 Hz", 1000, 1000, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := dir + "/" + tc.name + ".wav"
			writeToneWAV(t, path, tc.write, 2*time.Second)
			st := measureTone(t, path, tc.measure)
			if hit := st.Ratio >= 0.5 && st.LoudSeconds >= 1.9; hit != tc.wantHit {
				t.Errorf("%s: hit=%v want %v (%+v)", tc.name, hit, tc.wantHit, st)
			}
		})
	}
}
