package main

import (
	"fmt"
	"io"
	"os"

	"github.com/anyphone/anyphone/cti/api"
)

// writePcapFile writes a ladder to path as a pcap capture (ctl ladder --pcap).
func writePcapFile(path string, msgs []api.SIPMessage) error {
	return writeLadderFile("pcap", path, msgs, api.WritePcap)
}

// writeTextFile writes a ladder to path as text, as sngrep's "save as txt"
// (ctl ladder --text).
func writeTextFile(path string, msgs []api.SIPMessage) error {
	return writeLadderFile("text", path, msgs, api.WriteText)
}

func writeLadderFile(kind, path string, msgs []api.SIPMessage, write func(io.Writer, []api.SIPMessage) error) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	if err := write(f, msgs); err != nil {
		_ = f.Close()
		return fmt.Errorf("%s: %w", kind, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	return nil
}
