package main

import (
	"log/slog"
	"sync"

	"github.com/anyphone/anyphone/audio"
)

// echoCancel keeps the hub's echo canceller in step with the device: on
// with a sound card unless --no-echo-cancel, off for null, tone, echo and
// files (a canceller would remove the echo backend's whole signal).
type echoCancel struct {
	hub *audio.Hub
	f   audio.Format // the hub's; zero means audio.Narrowband
	off bool
	log *slog.Logger

	mu   sync.Mutex
	old  []audio.EchoCanceller // replaced ones, closed with the hub
	isOn bool
}

// set turns the canceller on for a sound card, off otherwise.
func (e *echoCancel) set(soundCard bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	want := soundCard && !e.off
	if want == e.isOn {
		return
	}
	var next audio.EchoCanceller
	if want {
		f := e.f
		if f.SampleRate == 0 {
			f = audio.Narrowband
		}
		if next = audio.NewEchoCanceller(f); next == nil {
			e.log.Info("echo cancellation not built in (speexdsp build tag)")
			return
		}
	}
	if old := e.hub.SetEchoCanceller(next); old != nil {
		// A frame may still be using it: closed after the hub stops.
		e.old = append(e.old, old)
	}
	e.isOn = want
	e.log.Info("echo cancellation", "on", want)
}

// close closes every canceller; call it after the hub has stopped.
func (e *echoCancel) close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ec := e.hub.SetEchoCanceller(nil); ec != nil {
		e.old = append(e.old, ec)
	}
	for _, ec := range e.old {
		_ = ec.Close()
	}
	e.old = nil
}
