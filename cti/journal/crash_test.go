package journal

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone/vocab"
)

const (
	burstEnvPath = "ANYPHONE_JOURNAL_BURST_DB"
	burstCalls   = 1000
	killAfter    = 300
)

// TestHelperJournalBurst is not a test on its own: TestJournalSurvivesKill
// runs the test binary again with this test selected and the database path
// in the environment. It records burstCalls calls as fast as it can and
// prints each SIP Call-ID once Record has returned, that is once the row is
// committed.
func TestHelperJournalBurst(t *testing.T) {
	path := os.Getenv(burstEnvPath)
	if path == "" {
		return // not the child: nothing to do
	}
	j, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for i := range burstCalls {
		e := burstEntry(i)
		if _, err := j.Record(context.Background(), e); err != nil {
			fmt.Fprintln(os.Stderr, "record:", err)
			os.Exit(3)
		}
		fmt.Fprintln(out, e.SIPCallID)
		out.Flush() // one write per committed row: the parent may kill us any time
	}
	j.Close()
	os.Exit(0)
}

func burstEntry(i int) Entry {
	start := base.Add(time.Duration(i) * time.Second)
	return Entry{
		User: "me", SIPCallID: fmt.Sprintf("burst-%04d@host", i), FromTag: "ft",
		Direction: vocab.Incoming,
		Remote:    Identity{Name: "Caller " + strconv.Itoa(i), URI: fmt.Sprintf("sip:c%d@example.org", i)},
		Started:   start, Ended: start.Add(20 * time.Second),
		Outcome: OutcomeMissed,
	}
}

// TestJournalSurvivesKill kills a process with SIGKILL in the middle of a
// burst of journaled calls: the database must open clean, pass
// PRAGMA integrity_check, and hold every row the child reported committed.
func TestJournalSurvivesKill(t *testing.T) {
	path := t.TempDir() + "/journal.db"
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperJournalBurst$", "-test.count=1")
	cmd.Env = append(os.Environ(), burstEnvPath+"="+path)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var committed []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "burst-") {
			continue // test framework chatter
		}
		committed = append(committed, line)
		if len(committed) == killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	// Lines written before the kill may still be in the pipe: they were
	// committed too.
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "burst-") {
			committed = append(committed, line)
		}
	}
	err = cmd.Wait()
	if len(committed) < killAfter {
		t.Fatalf("child reported only %d commits before exiting (%v)", len(committed), err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed mid-burst: %v (reported %d)", cmd.ProcessState, len(committed))
	}
	if len(committed) >= burstCalls {
		t.Fatalf("child finished the burst before the kill")
	}

	j, err := Open(path)
	if err != nil {
		t.Fatalf("open after kill: %v", err)
	}
	defer j.Close()
	if res, err := j.IntegrityCheck(ctx); err != nil || res != "ok" {
		t.Fatalf("integrity_check = %q, %v", res, err)
	}
	es, err := j.List(ctx, Filter{User: "me"})
	if err != nil {
		t.Fatal(err)
	}
	have := make(map[string]bool, len(es))
	for _, e := range es {
		have[e.SIPCallID] = true
	}
	for _, callID := range committed {
		if !have[callID] {
			t.Errorf("committed call %s lost", callID)
		}
	}
	if len(es) < len(committed) || len(es) > len(committed)+1 {
		t.Errorf("%d rows after kill, %d reported committed (at most one more may have committed unreported)", len(es), len(committed))
	}
	t.Logf("killed after %d reported commits; %d rows on disk", len(committed), len(es))
	// The journal keeps working after the crash.
	if _, err := j.Record(ctx, burstEntry(burstCalls)); err != nil {
		t.Fatalf("record after crash: %v", err)
	}
}
