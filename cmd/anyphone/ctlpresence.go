package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/anyphone/anyphone/cti/api"
	"github.com/anyphone/anyphone/cti/ctl"
)

// CtlPresenceCmd prints our phone state and the colleagues we watch.
type CtlPresenceCmd struct {
	JSON   bool `name:"json" help:"Print the presence result as JSON."`
	Follow bool `help:"Then print our own state on each change until Ctrl-C."`
}

// CtlWatchCmd watches a colleague and prints their state.
type CtlWatchCmd struct {
	Target string `arg:"" help:"A user name (in the account's domain) or a SIP URI."`
	Follow bool   `short:"f" help:"Keep printing the colleague's state as it changes, until Ctrl-C."`
	Stop   bool   `help:"Stop watching TARGET instead."`
}

// presenceLine is one colleague (or us) in the text output.
func presenceLine(w io.Writer, who, state string, info api.PresenceInfo) {
	var ds []string
	for _, d := range info.Dialogs {
		dir := "from"
		if d.Direction == api.Outgoing {
			dir = "to"
		}
		s := fmt.Sprintf("%s %s %s", d.State, dir, d.Remote.URI)
		if d.Device != "" {
			s += " @" + d.Device
		}
		switch {
		case d.Conference:
			s += " (conference)"
		case d.Held:
			s += " (held)"
		}
		ds = append(ds, s)
	}
	fmt.Fprintf(w, "%s\t%s\t%s\n", who, state, strings.Join(ds, "; "))
}

// Run prints one line for us and one per watched colleague; with
// --follow, then a line for us on each own_presence event.
func (c *CtlPresenceCmd) Run(g *Globals, p *CtlCmd) error {
	if c.Follow {
		return c.follow(g, p)
	}
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	raw, err := cl.Do(ctx, "presence", nil)
	if err != nil {
		return err
	}
	if c.JSON {
		_, err := fmt.Fprintf(p.stdout(), "%s\n", raw)
		return err
	}
	var r struct {
		Presence api.PresenceInfo `json:"presence"`
		Watches  []api.Watch      `json:"watches"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("presence: %w", err)
	}
	tw := tabwriter.NewWriter(p.stdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHO\tSTATE\tDIALOGS")
	presenceLine(tw, "me ("+r.Presence.Entity+")", ownState(r.Presence), r.Presence)
	for _, w := range r.Watches {
		presenceLine(tw, w.Target, watchState(w), w.Info)
	}
	return tw.Flush()
}

// Run adds the watch and prints the state; with --follow it prints each
// change of this colleague until Ctrl-C.
func (c *CtlWatchCmd) Run(g *Globals, p *CtlCmd) error {
	if c.Stop {
		cl, ctx, done, err := p.session(g)
		if err != nil {
			return err
		}
		defer done()
		_, err = cl.Do(ctx, "unwatch", map[string]string{"target": c.Target})
		return err
	}
	cl, ctx, dctx, done, err := p.followSession(g)
	if err != nil {
		return err
	}
	defer done()
	if c.Follow {
		if _, err := cl.Subscribe(dctx); err != nil {
			return err
		}
	}
	raw, err := cl.Do(dctx, "watch", map[string]string{"target": c.Target})
	if err != nil {
		return err
	}
	var r struct {
		Watch api.Watch `json:"watch"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	out := p.stdout()
	presenceLine(out, r.Watch.Target, watchState(r.Watch), r.Watch.Info)
	if !c.Follow {
		return nil
	}
	for {
		select {
		case <-ctx.Done():
			return nil // Ctrl-C
		case ev, ok := <-cl.Events():
			if !ok {
				return fmt.Errorf("watch: %w", cl.Err())
			}
			if ev.Name != ctl.EventPresence {
				continue
			}
			var e struct {
				Watch api.Watch `json:"watch"`
			}
			if json.Unmarshal(ev.Raw, &e) != nil || e.Watch.Target != r.Watch.Target {
				continue
			}
			presenceLine(out, e.Watch.Target, watchState(e.Watch), e.Watch.Info)
		}
	}
}

// follow prints our state, then each change of it until Ctrl-C.
func (c *CtlPresenceCmd) follow(g *Globals, p *CtlCmd) error {
	cl, ctx, dctx, done, err := p.followSession(g)
	if err != nil {
		return err
	}
	defer done()
	if _, err := cl.Subscribe(dctx); err != nil {
		return err
	}
	raw, err := cl.Do(dctx, "presence", nil)
	if err != nil {
		return err
	}
	var r struct {
		Presence api.PresenceInfo `json:"presence"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("presence: %w", err)
	}
	out := p.stdout()
	line := func(info api.PresenceInfo) {
		if c.JSON {
			b, _ := json.Marshal(info)
			fmt.Fprintf(out, "%s\n", b)
			return
		}
		presenceLine(out, "me", ownState(info), info)
	}
	line(r.Presence)
	for {
		select {
		case <-ctx.Done():
			return nil // Ctrl-C
		case ev, ok := <-cl.Events():
			if !ok {
				return fmt.Errorf("presence: %w", cl.Err())
			}
			if ev.Name != ctl.EventOwnPresence {
				continue
			}
			var e struct {
				Presence api.PresenceInfo `json:"presence"`
			}
			if json.Unmarshal(ev.Raw, &e) == nil {
				line(e.Presence)
			}
		}
	}
}

// ownState is Busy with do-not-disturb.
func ownState(info api.PresenceInfo) string {
	if info.DND {
		return info.Busy() + ", DND"
	}
	return info.Busy()
}

// watchState is a colleague's Busy with do-not-disturb.
func watchState(w api.Watch) string {
	if w.State == api.WatchActive && w.Info.DND {
		return w.Busy() + ", DND"
	}
	return w.Busy()
}
