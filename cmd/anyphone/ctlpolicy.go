package main

import (
	"encoding/json"
	"fmt"

	"github.com/anyphone/anyphone/cti/busy"
)

// CtlPolicyCmd shows or changes the busy policy of a running instance
// (control commands policy, let_through, clear_override).
type CtlPolicyCmd struct {
	LetThrough int    `help:"Let calls through for this many minutes (an override of the busy policy)." name:"let-through"`
	Clear      bool   `help:"Clear a let-through override."`
	DND        string `name:"dnd" enum:",on,off" default:"" help:"Do not disturb on or off (the rest of the policy stays; colleagues watching us see it)."`
}

// Run prints the policy as JSON after applying the requested change.
func (c *CtlPolicyCmd) Run(g *Globals, p *CtlCmd) error {
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	switch {
	case c.LetThrough > 0 && c.Clear:
		return usageError(fmt.Errorf("policy: --let-through and --clear exclude each other"))
	case c.LetThrough > 0:
		if _, err := cl.Do(ctx, "let_through", map[string]int{"minutes": c.LetThrough}); err != nil {
			return err
		}
	case c.Clear:
		if _, err := cl.Do(ctx, "clear_override", nil); err != nil {
			return err
		}
	}
	if c.DND != "" {
		// set_policy replaces the whole policy: change DND in the one in force.
		raw, err := cl.Do(ctx, "policy", nil)
		if err != nil {
			return err
		}
		var r struct {
			Policy busy.Policy `json:"policy"`
		}
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("policy: %w", err)
		}
		r.Policy.DND = c.DND == "on"
		if _, err := cl.Do(ctx, "set_policy", r.Policy); err != nil {
			return err
		}
	}
	raw, err := cl.Do(ctx, "policy", nil)
	if err != nil {
		return err
	}
	out, err := effectivePolicyJSON(raw)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(p.stdout(), "%s\n", out)
	return err
}

// effectivePolicyJSON turns the policy command's result into what ctl
// policy prints: "policy" with every default applied (what the phone does:
// on_busy "wait", not absent) and "configured", the fields as set.
func effectivePolicyJSON(raw []byte) ([]byte, error) {
	var r struct {
		Policy busy.Policy `json:"policy"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	return json.Marshal(struct {
		Policy     busy.Policy `json:"policy"`
		Configured busy.Policy `json:"configured"`
	}{r.Policy.Effective(), r.Policy})
}

// CtlJournalCmd lists the journal of a running instance (control command
// journal) as JSON.
type CtlJournalCmd struct {
	View   string `help:"all, missed, secondary, answered_elsewhere, incoming, outgoing." default:"all"`
	Unread bool   `help:"Only calls not marked read."`
	Search string `help:"Only calls whose names or numbers contain this."`
	Limit  int    `help:"At most this many rows." default:"50"`
}

// Run prints the matching entries as a JSON array.
func (c *CtlJournalCmd) Run(g *Globals, p *CtlCmd) error {
	cl, ctx, done, err := p.session(g)
	if err != nil {
		return err
	}
	defer done()
	args := map[string]any{"view": c.View, "limit": c.Limit}
	if c.Unread {
		args["unread"] = true
	}
	if c.Search != "" {
		args["search"] = c.Search
	}
	raw, err := cl.Do(ctx, "journal", args)
	if err != nil {
		return err
	}
	var res struct {
		Entries json.RawMessage `json:"entries"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || res.Entries == nil {
		res.Entries = raw
	}
	_, err = fmt.Fprintf(p.stdout(), "%s\n", res.Entries)
	return err
}
