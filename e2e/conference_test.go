package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// row is the screen's call row n ("  2 → active ..."), or "".
func row(screen string, n int) string {
	for _, ln := range strings.Split(screen, "\n") {
		if strings.Contains(ln, fmt.Sprintf(" %d → ", n)) {
			return ln
		}
	}
	return ""
}

// rowsAre: every one of rows 1 and 2 has all of want and none of not.
func rowsAre(want, not []string) func(string) bool {
	return func(s string) bool {
		for n := 1; n <= 2; n++ {
			r := row(s, n)
			if r == "" {
				return false
			}
			for _, w := range want {
				if !strings.Contains(r, w) {
					return false
				}
			}
			for _, w := range not {
				if strings.Contains(r, w) {
					return false
				}
			}
		}
		return true
	}
}

// TestTUIConferenceSplitRejoin (issue 13): two calls joined with C; h on a
// leg holds the conference (both legs held, both still [conf]) and h again
// resumes both; C on a leg splits the conference (that leg stays active,
// the other is held, neither is [conf]) and C again rejoins them.
func TestTUIConferenceSplitRejoin(t *testing.T) {
	bin, tmux := need(t)
	tm := startTUI(t, bin, tmux)
	tm.waitFor("the idle view", contains("no calls"))
	for n, to := range []string{"echo", "tone"} {
		tm.keys(false, "d")
		tm.keys(true, to)
		tm.keys(false, "Enter")
		tm.waitFor(to+" active", func(s string) bool { return strings.Contains(row(s, n+1), "active") })
	}
	tm.waitFor("two calls, the first held", func(s string) bool {
		return strings.Contains(row(s, 1), "[hold]") && strings.Contains(row(s, 2), "active") && !strings.Contains(row(s, 2), "[hold]")
	})
	tm.keys(false, "C")
	tm.waitFor("both legs in the conference", rowsAre([]string{"active", "[conf]"}, []string{"[hold]"}))
	tm.keys(false, "h")
	tm.waitFor("the conference held: both legs held and still [conf]", rowsAre([]string{"[hold]", "[conf]"}, nil))
	tm.keys(false, "h")
	tm.waitFor("the conference resumed: both legs unheld and [conf]", rowsAre([]string{"active", "[conf]"}, []string{"[hold]"}))
	tm.keys(false, "C")
	tm.waitFor("split: the selected leg active, the other held, neither [conf]", func(s string) bool {
		r1, r2 := row(s, 1), row(s, 2)
		return strings.Contains(r1, "[hold]") && !strings.Contains(r2, "[hold]") &&
			!strings.Contains(r1, "[conf]") && !strings.Contains(r2, "[conf]")
	})
	tm.keys(false, "C")
	tm.waitFor("rejoined: both legs [conf] and unheld", rowsAre([]string{"active", "[conf]"}, []string{"[hold]"}))
	tm.keys(false, "q")
	tm.waitFor("the quit confirmation", contains("press q again"))
	tm.quit()
}
