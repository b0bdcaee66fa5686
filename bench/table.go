//go:build linux

package bench

import (
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"text/tabwriter"
)

// Table collects one figure per (row, system under test) and prints them
// with ratios. It is safe for concurrent use.
type Table struct {
	mu    sync.Mutex
	order []string
	rows  map[string]map[string]float64 // row → SUT → value
	notes []string
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{rows: map[string]map[string]float64{}} }

// Set records value v of row for system sut. Rows print in first-set order.
func (t *Table) Set(row, sut string, v float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.rows[row]
	if !ok {
		r = map[string]float64{}
		t.rows[row] = r
		t.order = append(t.order, row)
	}
	r[sut] = v
}

// Get returns a recorded value.
func (t *Table) Get(row, sut string) (float64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.rows[row][sut]
	return v, ok
}

// Note adds a line printed under the table.
func (t *Table) Note(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

// Empty reports whether nothing was recorded.
func (t *Table) Empty() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.order) == 0
}

// Write prints the table: one column per system in suts, then a ratio
// column "a/b" for each pair in ratios. Missing values print as "-".
func (t *Table) Write(w io.Writer, suts []string, ratios [][2]string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	width := len("measure")
	for _, name := range t.order {
		width = max(width, len([]rune(name)))
	}
	pad := func(s string) string { return s + strings.Repeat(" ", width-len([]rune(s))) }
	head := []string{pad("measure")}
	head = append(head, suts...)
	for _, r := range ratios {
		head = append(head, r[0]+"/"+r[1])
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, name := range t.order {
		row := t.rows[name]
		cells := []string{pad(name)}
		for _, s := range suts {
			cells = append(cells, formatValue(row, s))
		}
		for _, r := range ratios {
			a, okA := row[r[0]]
			b, okB := row[r[1]]
			if !okA || !okB || b == 0 {
				cells = append(cells, "-")
				continue
			}
			cells = append(cells, fmt.Sprintf("%.2f", a/b))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range t.notes {
		if _, err := fmt.Fprintln(w, "  "+n); err != nil {
			return err
		}
	}
	return nil
}

func formatValue(row map[string]float64, sut string) string {
	v, ok := row[sut]
	switch {
	case !ok:
		return "-"
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.0f", v)
	case math.Abs(v) >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}
