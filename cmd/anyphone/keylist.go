package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/anyphone/anyphone/ui"
)

// listKeys answers --key '?': every action --key rebinds, with its keys
// and what it does, and exits (issue 13: the help promised it).
func (c *TuiCmd) listKeys(w io.Writer) error {
	km := ui.DefaultKeyMap()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tKEYS\tDOES")
	for _, a := range km.Actions() {
		keys, help := km.Describe(a)
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a, strings.Join(keys, ","), help)
	}
	fmt.Fprintln(tw, "\nRebind with --key ACTION=KEY[,KEY], e.g. --key hold=ctrl+h --key hangup=e,x")
	return tw.Flush()
}
