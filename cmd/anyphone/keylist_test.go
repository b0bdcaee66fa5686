package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// TestKeyQuestionListsActions (issue 13): --key '?' parses and lists the
// actions with their keys, as its help says; ACTION=KEY still rebinds.
func TestKeyQuestionListsActions(t *testing.T) {
	var c cli
	p, err := kong.New(&c, kong.Name("anyphone"), kong.Vars{"version": "test"}, kong.Exit(func(int) { t.Fatal("kong exit") }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Parse([]string{"--key", "?", "--key", "hold=ctrl+h,x"}); err != nil {
		t.Fatalf("--key '?': %v", err)
	}
	if !slices.Equal(c.Tui.Key, []string{"?", "hold=ctrl+h,x"}) {
		t.Fatalf("keys %q", c.Tui.Key)
	}
	var out bytes.Buffer
	if err := c.Tui.listKeys(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ACTION", "hold ", "hold/resume", "ladder ", "pcap ", "quit "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the list lacks %q:\n%s", want, out.String())
		}
	}
	c.Tui.Key = c.Tui.Key[1:]
	km, err := c.Tui.keyMap()
	if err != nil {
		t.Fatal(err)
	}
	if keys, _ := km.Describe("hold"); !slices.Equal(keys, []string{"ctrl+h", "x"}) {
		t.Errorf("hold bound to %q", keys)
	}
	c.Tui.Key = []string{"hold"}
	if _, err := c.Tui.keyMap(); err == nil || !strings.Contains(err.Error(), "ACTION=KEY") {
		t.Errorf("--key hold: %v, want a usage error", err)
	}
}
