package ui

import (
	"slices"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti/api"
)

// ladderColumns are the addresses of a ladder, as sngrep draws them: ours
// first, then each peer in the order it first appears. A call carried by
// another device has several peers (the device, the remote party, a
// consultation), one column each.
func ladderColumns(msgs []api.SIPMessage) []string {
	if len(msgs) == 0 {
		return nil
	}
	cols := []string{msgs[0].Local}
	for _, m := range msgs {
		if !slices.Contains(cols, m.Local) {
			cols = append(cols, m.Local)
		}
		if !slices.Contains(cols, m.Remote) {
			cols = append(cols, m.Remote)
		}
	}
	return cols
}

// ladderHeader puts each column's address over its column in width cells:
// the first at the left edge, the last ending at the right edge, the
// others centred on their column.
func ladderHeader(cols []string, width int) string {
	pos := columnPos(len(cols), width)
	var b strings.Builder
	at := 0
	for i, c := range cols {
		w := ansi.StringWidth(c)
		x := pos[i] - w/2
		switch {
		case i == 0:
			x = 0
		case i == len(cols)-1:
			x = width - w
		}
		if x < at+1 && i > 0 {
			x = at + 1
		}
		b.WriteString(strings.Repeat(" ", max(x-at, 0)))
		b.WriteString(c)
		at = max(x, at) + w
	}
	return b.String()
}

// columnPos spreads n columns over width cells: the first at 0, the last
// near the right edge.
func columnPos(n, width int) []int {
	pos := make([]int, n)
	if n < 2 {
		return pos
	}
	step := max((width-1)/(n-1), 8)
	for i := range pos {
		pos[i] = i * step
	}
	return pos
}

// ladderArrow draws m between its two columns in width cells: "── INVITE
// ──▶" from the sender's column to the receiver's, "◀── 200 OK ──" the
// other way, indented to the leftmost of the two.
func ladderArrow(cols []string, m api.SIPMessage, width int) string {
	from, to := slices.Index(cols, m.Local), slices.Index(cols, m.Remote)
	if !m.Sent {
		from, to = to, from
	}
	if from < 0 || to < 0 || from == to {
		return arrow(m, width)
	}
	pos := columnPos(len(cols), width)
	left, right := min(pos[from], pos[to]), max(pos[from], pos[to])
	if len(cols) == 2 {
		right = width // two columns: the whole width, as before
	}
	n := max(right-left, 10)
	sent := to > from // drawn left to right
	return strings.Repeat(" ", left) + arrow(api.SIPMessage{Summary: m.Summary, Sent: sent}, n)
}
