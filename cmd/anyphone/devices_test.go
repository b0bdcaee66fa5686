package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/anyphone/anyphone/audio"
)

var testDevices = []audio.Device{
	{Backend: "portaudio", Index: 0, Name: "pulse", HostAPI: "ALSA", MaxInputChannels: 32, MaxOutputChannels: 32, DefaultSampleRate: 44100},
	{Backend: "portaudio", Index: 1, Name: "default", HostAPI: "ALSA", MaxInputChannels: 32, MaxOutputChannels: 32, DefaultSampleRate: 44100, DefaultInput: true, DefaultOutput: true},
}

func TestDevicesTable(t *testing.T) {
	var b bytes.Buffer
	if err := writeDevicesTable(&b, testDevices); err != nil {
		t.Fatal(err)
	}
	want := "" +
		"SPEC               HOST API  IN  OUT  RATE   DEFAULT\n" +
		"portaudio:pulse    ALSA      32  32   44100  \n" +
		"portaudio:default  ALSA      32  32   44100  in+out\n"
	if b.String() != want {
		t.Errorf("table:\n%s\nwant:\n%s", b.String(), want)
	}
	if strings.Contains(b.String(), "{") {
		t.Error("the table holds a Go struct dump")
	}
	b.Reset()
	_ = writeDevicesTable(&b, nil)
	if !strings.Contains(b.String(), "no audio devices") {
		t.Errorf("empty: %q", b.String())
	}
}

func TestDevicesJSON(t *testing.T) {
	var b bytes.Buffer
	if err := writeDevicesJSON(&b, testDevices); err != nil {
		t.Fatal(err)
	}
	var got []deviceJSON
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(got) != 2 || got[1].Spec != "portaudio:default" || !got[1].DefaultOutput || got[0].Inputs != 32 {
		t.Errorf("json: %+v", got)
	}
}

// TestAudioSpecError: a spec that does not open gives one clear error that
// names the field, not "audio: audio: spec ...".
func TestAudioSpecError(t *testing.T) {
	_, _, _, err := audio.Open("tone:abc", audio.Narrowband)
	got := audioSpecError("--audio", err).Error()
	if strings.Count(got, "audio:") > 0 || !strings.HasPrefix(got, `--audio "tone:abc": `) {
		t.Errorf("error %q: want it to start with the field and the spec, once", got)
	}
	if !errors.Is(audioSpecError("--audio", err), audio.ErrBadSpec) {
		t.Error("the error does not wrap audio.ErrBadSpec")
	}
}

// TestEndpointAudioSpecError: the endpoint's bad --audio is one clear
// usage error naming the flag (it said "audio: audio: spec ...").
func TestEndpointAudioSpecError(t *testing.T) {
	e := &EndpointCmd{Answer: "auto", Listen: "127.0.0.1:0", Transport: "udp", Audio: "tone:abc"}
	err := e.Run(&Globals{LogLevel: "error"})
	if err == nil {
		t.Fatal("no error")
	}
	got := err.Error()
	if strings.Contains(got, "audio:") || !strings.HasPrefix(got, `--audio "tone:abc": `) {
		t.Errorf("error %q: want it to start with the flag and the spec, once", got)
	}
}
