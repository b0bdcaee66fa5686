package endpoint

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/anyphone/anyphone/cti"
)

// Step is one scripted mid-call action, run At after a call becomes active.
type Step struct {
	At     time.Duration
	Action string // hold, resume, refer, dtmf, hangup, mute, unmute
	Arg    string // hold: dialect; refer: target URI; dtmf: digits
}

func (s Step) String() string {
	a := s.Action
	if s.Arg != "" {
		a += ":" + s.Arg
	}
	return a + "@" + s.At.String()
}

// ParseScript parses comma-separated steps ACTION[:ARG]@DELAY, e.g.
// "hold@2s,resume@4s,refer:sip:x@h@5s,dtmf:123@1s". The delay follows the
// last @, so targets may contain @. Steps run in the order of their delays.
func ParseScript(s string) ([]Step, error) {
	var out []Step
	for _, raw := range strings.Split(s, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		i := strings.LastIndexByte(raw, '@')
		if i < 0 {
			return nil, fmt.Errorf("script: step %q: want ACTION[:ARG]@DELAY", raw)
		}
		at, err := time.ParseDuration(raw[i+1:])
		if err != nil || at < 0 {
			return nil, fmt.Errorf("script: step %q: bad delay %q", raw, raw[i+1:])
		}
		action, arg, _ := strings.Cut(raw[:i], ":")
		st := Step{At: at, Action: strings.ToLower(action), Arg: arg}
		switch st.Action {
		case "hold":
			if arg != "" {
				if _, err := cti.ParseHoldDialect(arg); err != nil {
					return nil, fmt.Errorf("script: step %q: %w", raw, err)
				}
			}
		case "refer", "transfer", "dtmf":
			if arg == "" {
				return nil, fmt.Errorf("script: step %q: %s needs an argument", raw, st.Action)
			}
			if st.Action == "transfer" {
				st.Action = "refer"
			}
		case "resume", "hangup", "mute", "unmute":
			if arg != "" {
				return nil, fmt.Errorf("script: step %q: %s takes no argument", raw, st.Action)
			}
		default:
			return nil, fmt.Errorf("script: step %q: unknown action %q", raw, st.Action)
		}
		out = append(out, st)
	}
	return out, nil
}

// runStep performs one step on call id; errors are logged, not fatal: a
// script step on a call that already ended is normal.
func (e *Endpoint) runStep(id cti.CallID, st Step) {
	ctx := context.Background()
	var err error
	switch st.Action {
	case "hold":
		if st.Arg == "" {
			err = e.svc.Hold(ctx, id)
		} else {
			d, _ := cti.ParseHoldDialect(st.Arg)
			err = e.svc.HoldWith(ctx, id, d)
		}
	case "resume":
		err = e.svc.Resume(ctx, id)
	case "refer":
		err = e.svc.Transfer(ctx, id, st.Arg)
	case "dtmf":
		err = e.svc.SendDTMF(ctx, id, st.Arg)
	case "hangup":
		err = e.svc.Hangup(ctx, id)
	case "mute", "unmute":
		err = e.svc.Mute(ctx, id, st.Action == "mute")
	}
	if err != nil {
		e.log.Info("script step", "call_id", id, "step", st.String(), "err", err)
		if e.OnScriptError != nil {
			e.OnScriptError(id, st, err)
		}
	}
}
