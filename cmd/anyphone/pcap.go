package main

import (
	"fmt"
	"os"

	"github.com/anyphone/anyphone/cti/api"
)

// writePcapFile writes a ladder to path as a pcap capture (ctl ladder --pcap).
func writePcapFile(path string, msgs []api.SIPMessage) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("pcap: %w", err)
	}
	if err := api.WritePcap(f, msgs); err != nil {
		_ = f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("pcap: %w", err)
	}
	return nil
}
