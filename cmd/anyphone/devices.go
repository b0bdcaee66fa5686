package main

import (
	"fmt"
	"os"

	"github.com/anyphone/anyphone/audio"
)

// DevicesCmd lists the audio devices of the registered backends.
type DevicesCmd struct{}

// Run prints one device a line.
func (d *DevicesCmd) Run(g *Globals) error {
	devs, err := audio.Devices()
	if err != nil {
		return err
	}
	if len(devs) == 0 {
		fmt.Fprintln(os.Stdout, "no audio devices (calls use null audio)")
		return nil
	}
	for _, d := range devs {
		fmt.Fprintf(os.Stdout, "%+v\n", d)
	}
	return nil
}
