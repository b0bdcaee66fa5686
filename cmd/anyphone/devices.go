package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/anyphone/anyphone/audio"
)

// DevicesCmd lists the audio devices of the registered backends.
type DevicesCmd struct {
	JSON bool `help:"Print JSON (one array of devices) instead of a table."`
}

// Run prints the devices as a table, or as JSON with --json.
func (d *DevicesCmd) Run(g *Globals) error {
	devs, err := audio.Devices()
	if errors.Is(err, audio.ErrNoBackend) {
		devs, err = nil, nil // built without portaudio: null audio only
	}
	if err != nil && len(devs) == 0 {
		return err
	}
	if d.JSON {
		return writeDevicesJSON(os.Stdout, devs)
	}
	return writeDevicesTable(os.Stdout, devs)
}

// deviceJSON is one device in `anyphone devices --json`.
type deviceJSON struct {
	Spec          string  `json:"spec"` // what --audio and [audio] device take
	Backend       string  `json:"backend"`
	Index         int     `json:"index"`
	Name          string  `json:"name"`
	HostAPI       string  `json:"host_api,omitempty"`
	Inputs        int     `json:"inputs"`
	Outputs       int     `json:"outputs"`
	SampleRate    float64 `json:"sample_rate"`
	DefaultInput  bool    `json:"default_input"`
	DefaultOutput bool    `json:"default_output"`
}

func writeDevicesJSON(w io.Writer, devs []audio.Device) error {
	out := make([]deviceJSON, 0, len(devs))
	for _, d := range devs {
		out = append(out, deviceJSON{
			Spec: d.Backend + ":" + d.Name, Backend: d.Backend, Index: d.Index, Name: d.Name, HostAPI: d.HostAPI,
			Inputs: d.MaxInputChannels, Outputs: d.MaxOutputChannels, SampleRate: d.DefaultSampleRate,
			DefaultInput: d.DefaultInput, DefaultOutput: d.DefaultOutput,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// writeDevicesTable prints one device a row; the SPEC column is what
// --audio takes.
func writeDevicesTable(w io.Writer, devs []audio.Device) error {
	if len(devs) == 0 {
		_, err := fmt.Fprintln(w, "no audio devices (calls use null audio)")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SPEC\tHOST API\tIN\tOUT\tRATE\tDEFAULT")
	for _, d := range devs {
		def := ""
		switch {
		case d.DefaultInput && d.DefaultOutput:
			def = "in+out"
		case d.DefaultInput:
			def = "in"
		case d.DefaultOutput:
			def = "out"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\n", d.Backend+":"+d.Name, d.HostAPI,
			d.MaxInputChannels, d.MaxOutputChannels, strconv.FormatFloat(d.DefaultSampleRate, 'f', -1, 64), def)
	}
	return tw.Flush()
}

// audioSpecError is the error for an audio spec that does not open,
// naming where the spec came from (field: "--audio" or "[audio] device")
// once, e.g.
//
//	--audio "portaudio:nosuch": portaudio: no output device named "nosuch" (anyphone devices lists them)
func audioSpecError(field string, err error) error {
	var se *audio.SpecError
	if !errors.As(err, &se) {
		return fmt.Errorf("%s: %w", field, err)
	}
	hint := ""
	if audio.IsDeviceSpec(se.Spec) {
		hint = " (anyphone devices lists them)"
	}
	return fmt.Errorf("%s %q: %w%s", field, se.Spec, se.Err, hint)
}

// deviceName is what the header and the settings pane call the audio
// device opened for spec: the sound card it opened ("portaudio:default"
// for "auto"), else the spec.
func deviceName(spec string, src audio.Source) string {
	if n, ok := src.(audio.DeviceNamer); ok {
		if name := n.DeviceName(); name != "" {
			return name
		}
	}
	return spec
}
