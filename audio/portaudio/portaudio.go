//go:build portaudio

package portaudio

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	pa "github.com/gordonklaus/portaudio"

	"github.com/anyphone/anyphone/audio"
)

// paMu serialises Initialize/Terminate and device lookups: the Go binding
// keeps unsynchronised package state for them.
var paMu sync.Mutex

// Devices lists the sound devices PortAudio sees, marking the defaults.
func Devices() ([]Device, error) {
	return devices(slog.Default())
}

func devices(log *slog.Logger) ([]Device, error) {
	var out []Device
	err := quiet(log, func() error {
		paMu.Lock()
		defer paMu.Unlock()
		if err := pa.Initialize(); err != nil {
			return fmt.Errorf("portaudio: initialize: %w", err)
		}
		defer pa.Terminate()
		devs, err := pa.Devices()
		if err != nil {
			return fmt.Errorf("portaudio: devices: %w", err)
		}
		defIn, _ := pa.DefaultInputDevice()
		defOut, _ := pa.DefaultOutputDevice()
		for _, d := range devs {
			dev := Device{
				Backend:           Name,
				Index:             d.Index,
				Name:              d.Name,
				MaxInputChannels:  d.MaxInputChannels,
				MaxOutputChannels: d.MaxOutputChannels,
				DefaultSampleRate: d.DefaultSampleRate,
				DefaultInput:      defIn != nil && defIn.Index == d.Index,
				DefaultOutput:     defOut != nil && defOut.Index == d.Index,
			}
			if d.HostApi != nil {
				dev.HostAPI = d.HostApi.Name
			}
			out = append(out, dev)
		}
		return nil
	})
	return out, err
}

// paPort adapts a blocking PortAudio stream to port, mapping the non-fatal
// xrun errors to the stream's sentinels.
type paPort struct{ s *pa.Stream }

func (p paPort) Read() error {
	err := p.s.Read()
	if errors.Is(err, pa.InputOverflowed) {
		return errInputOverflowed
	}
	return err
}

func (p paPort) Write() error {
	err := p.s.Write()
	if errors.Is(err, pa.OutputUnderflowed) {
		return errOutputUnderflowed
	}
	return err
}

func open(in, out string, f audio.Format, log *slog.Logger) (*Stream, error) {
	if max(f.Channels, 1) != 1 || f.SampleRate <= 0 || f.Samples() <= 0 {
		return nil, fmt.Errorf("portaudio: format %+v: want mono with whole frames", f)
	}
	var (
		s               *Stream
		inName, outName string
		inLat, outLat   time.Duration
	)
	err := quiet(log, func() error {
		paMu.Lock()
		defer paMu.Unlock()
		if err := pa.Initialize(); err != nil {
			return fmt.Errorf("portaudio: initialize: %w", err)
		}
		ok := false
		var opened []*pa.Stream
		defer func() {
			if !ok {
				for _, st := range opened {
					st.Close()
				}
				pa.Terminate()
			}
		}()
		devs, err := pa.Devices()
		if err != nil {
			return fmt.Errorf("portaudio: devices: %w", err)
		}
		// Output first: with no sound card its error is the one users know.
		outDev, err := pick(devs, out, false)
		if err != nil {
			return err
		}
		inDev, err := pick(devs, in, true)
		if err != nil {
			return err
		}
		outStream, outBuf, outRate, err := openDir(outDev, false, f)
		if err != nil {
			return err
		}
		opened = append(opened, outStream)
		inStream, inBuf, inRate, err := openDir(inDev, true, f)
		if err != nil {
			return err
		}
		opened = append(opened, inStream)
		if err := inStream.Start(); err != nil {
			return fmt.Errorf("portaudio: start input %q: %w", inDev.Name, err)
		}
		if err := outStream.Start(); err != nil {
			return fmt.Errorf("portaudio: start output %q: %w", outDev.Name, err)
		}
		abort := func() {
			inStream.Abort()
			outStream.Abort()
		}
		release := func() error {
			return quiet(log, func() error {
				paMu.Lock()
				defer paMu.Unlock()
				err := errors.Join(inStream.Close(), outStream.Close(), pa.Terminate())
				if err != nil {
					return fmt.Errorf("portaudio: close: %w", err)
				}
				return nil
			})
		}
		s = newStream(f, paPort{inStream}, inBuf, inRate, paPort{outStream}, outBuf, outRate, abort, release)
		inName, outName = inDev.Name, outDev.Name
		s.inName, s.outName = inName, outName
		if i := inStream.Info(); i != nil {
			inLat = i.InputLatency
		}
		if i := outStream.Info(); i != nil {
			outLat = i.OutputLatency
		}
		ok = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Logged here, not inside quiet, where fd 2 is redirected.
	inRate, outRate := s.DeviceRates()
	log.Info("audio device opened", "backend", Name, "input", inName, "input_rate", inRate, "input_latency", inLat, "output", outName, "output_rate", outRate, "output_latency", outLat)
	return s, nil
}

// pick finds the device for spec: "" is the default, digits an index,
// anything else an exact name or a unique case-insensitive substring.
func pick(devs []*pa.DeviceInfo, spec string, input bool) (*pa.DeviceInfo, error) {
	dir := "output"
	if input {
		dir = "input"
	}
	usable := func(d *pa.DeviceInfo) bool {
		if input {
			return d.MaxInputChannels > 0
		}
		return d.MaxOutputChannels > 0
	}
	if spec == "" {
		var d *pa.DeviceInfo
		var err error
		if input {
			d, err = pa.DefaultInputDevice()
		} else {
			d, err = pa.DefaultOutputDevice()
		}
		if err != nil {
			return nil, &kindError{msg: fmt.Sprintf("portaudio: %v", err), kind: ErrNoDevice}
		}
		return d, nil
	}
	if i, err := strconv.Atoi(spec); err == nil {
		for _, d := range devs {
			if d.Index == i && usable(d) {
				return d, nil
			}
		}
		return nil, &kindError{msg: fmt.Sprintf("portaudio: no %s device with index %d", dir, i), kind: ErrNoDevice}
	}
	var matches []*pa.DeviceInfo
	for _, d := range devs {
		if usable(d) && d.Name == spec {
			return d, nil
		}
		if usable(d) && strings.Contains(strings.ToLower(d.Name), strings.ToLower(spec)) {
			matches = append(matches, d)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		return nil, &kindError{msg: fmt.Sprintf("portaudio: no %s device named %q", dir, spec), kind: ErrNoDevice}
	}
	names := make([]string, len(matches))
	for i, d := range matches {
		names[i] = strconv.Quote(d.Name)
	}
	return nil, &kindError{
		msg:  fmt.Sprintf("portaudio: %s device %q matches %s", dir, spec, strings.Join(names, ", ")),
		kind: ErrAmbiguousDevice,
	}
}

// openDir opens a mono blocking stream on d in one direction, at f's rate
// if the device takes it, else at the device's default rate. It returns the
// buffer bound to the stream (one frame at the device rate) and the rate.
func openDir(d *pa.DeviceInfo, input bool, f audio.Format) (*pa.Stream, []int16, int, error) {
	var p pa.StreamParameters
	if input {
		p = pa.LowLatencyParameters(d, nil)
		p.Input.Channels = 1
	} else {
		p = pa.LowLatencyParameters(nil, d)
		p.Output.Channels = 1
	}
	rates := []int{f.SampleRate}
	if r := int(math.Round(d.DefaultSampleRate)); r > 0 && r != f.SampleRate {
		rates = append(rates, r)
	}
	var errs []error
	for _, rate := range rates {
		n := int(int64(rate) * int64(f.Frame) / 1e9)
		buf := make([]int16, n)
		p.SampleRate = float64(rate)
		p.FramesPerBuffer = n
		if err := pa.IsFormatSupported(p, &buf); err != nil {
			errs = append(errs, fmt.Errorf("%d Hz: %w", rate, err))
			continue
		}
		st, err := pa.OpenStream(p, &buf)
		if err != nil {
			errs = append(errs, fmt.Errorf("%d Hz: %w", rate, err))
			continue
		}
		return st, buf, rate, nil
	}
	dir := "output"
	if input {
		dir = "input"
	}
	return nil, nil, 0, fmt.Errorf("portaudio: open %s %q: %w", dir, d.Name, errors.Join(errs...))
}
