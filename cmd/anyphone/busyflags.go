package main

import (
	"fmt"
	"io"
	"time"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/busy"
	"github.com/anyphone/anyphone/cti/journal"
)

// BusyFlags are the endpoint's busy-handling and journal flags. They are
// embedded in EndpointCmd without a prefix.
type BusyFlags struct {
	Busy           string        `help:"What a call gets while another call exists: wait, busy (486), unavailable (480), voicemail (302), silent." enum:",wait,busy,unavailable,voicemail,silent" default:""`
	DND            bool          `help:"Do not disturb: every call gets voicemail (with --voicemail) or 480, VIPs excepted." name:"dnd"`
	Voicemail      string        `help:"Voicemail URI for 302 redirects, e.g. sip:vm@127.0.0.1:5090." placeholder:"URI"`
	VIP            []string      `help:"VIP caller that always gets through: URI, number or glob pattern (repeatable)." name:"vip" placeholder:"PATTERN" sep:"none"`
	NoAnswer       time.Duration `help:"Ring unanswered calls this long, then apply --no-answer-action (0s..300s; default: no timeout without busy flags, else 20s)." placeholder:"DUR" default:"-1s"`
	NoAnswerAction string        `help:"What an unanswered call gets: unavailable (480) or voicemail (302)." enum:",unavailable,voicemail" default:""`
	Region         string        `help:"Default region for phone numbers without a country code (ISO 3166, e.g. DE)."`
	Journal        string        `help:"Record every call in this journal database (SQLite)." type:"path" placeholder:"PATH"`
	User           string        `help:"Your user: whose journal rows these are (default: the AOR, else --name), and who you are at a shared controller (--controller)." placeholder:"NAME"`
	Device         string        `help:"Device name in the journal." default:"desk"`
}

// configured reports whether any busy-policy flag was given.
func (f *BusyFlags) configured() bool {
	return f.Busy != "" || f.DND || f.Voicemail != "" || len(f.VIP) > 0 || f.NoAnswer >= 0 || f.NoAnswerAction != "" || f.Region != ""
}

// policy builds the busy policy, or nil when no busy flag was given (calls
// then ring until the caller gives up, as before the flags existed).
func (f *BusyFlags) policy() (*busy.Policy, error) {
	if !f.configured() {
		return nil, nil
	}
	p := &busy.Policy{DND: f.DND, VoicemailURI: f.Voicemail, VIP: f.VIP, Region: f.Region}
	if err := p.OnBusy.UnmarshalText([]byte(f.Busy)); err != nil {
		return nil, fmt.Errorf("busy: %w", err)
	}
	if err := p.NoAnswerAction.UnmarshalText([]byte(f.NoAnswerAction)); err != nil {
		return nil, fmt.Errorf("no-answer-action: %w", err)
	}
	if f.NoAnswer >= 0 {
		if f.NoAnswer%time.Second != 0 {
			return nil, fmt.Errorf("no-answer: %s is not a whole number of seconds", f.NoAnswer)
		}
		n := int(f.NoAnswer / time.Second)
		p.NoAnswerSeconds = &n
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// apply sets the busy and journal fields of o. The returned closer closes
// the journal; call it after the Service has shut down.
func (f *BusyFlags) apply(o *cti.Options) (io.Closer, error) {
	p, err := f.policy()
	if err != nil {
		return nil, err
	}
	o.Policy, o.User, o.Device = p, f.User, f.Device
	if f.Journal == "" {
		return io.NopCloser(nil), nil
	}
	j, err := journal.Open(f.Journal)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	o.Journal = j
	return j, nil
}
