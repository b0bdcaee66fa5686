package interop

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// presenceScenario writes testdata/presence/name with the placeholders
// filled in to a temp file and returns its path.
func presenceScenario(t *testing.T, name string, vars map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "presence", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	if i := strings.Index(s, "{{"); i >= 0 {
		t.Fatalf("%s: unfilled placeholder at %q", name, s[i:min(len(s), i+20)])
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// waitLog waits for the endpoint's log to contain s.
func waitLog(ep *Endpoint, s string, timeout time.Duration) bool {
	return waitFor(timeout, func() bool { return strings.Contains(tail(ep.proc.outPath, 4<<20), s) })
}

// TestSippSubscribesDialogAtPhone (issue 15): without a presence server
// the phone serves its own dialog state. sipp, a third-party desk phone,
// SUBSCRIBEs to "dialog" at bob's endpoint; alice then calls bob, who
// answers after a second, and hangs up a second later. sipp checks the
// NOTIFY bodies in order (no dialog; early, recipient, remote alice;
// confirmed; terminated), then refreshes (another NOTIFY) and
// unsubscribes (Expires: 0: Subscription-State terminated).
func TestSippSubscribesDialogAtPhone(t *testing.T) {
	bob := startEndpoint(t, "--name", "bob", "--answer", "auto", "--answer-delay", "1s")
	sc := presenceScenario(t, "subscribe_dialog.xml", map[string]string{
		"USER": "bob", "CALLER": "alice", "AUTH": "", "CHALLENGE": "",
	})
	s := startSipp(t, sc, bob.Addr, "-m", "1", "-s", "bob")
	if !waitLog(bob, "dialog subscription", 10*time.Second) {
		t.Fatalf("bob never took the subscription\n%s", tailString(s.Output(), 4<<10))
	}
	alice := startEndpoint(t, "--name", "alice", "--dial", bob.URI, "--hangup-after", "1s", "--expect-calls", "1", "--exit-after", "10s")
	if code, sum, err := alice.Wait(15 * time.Second); err != nil || code != 0 {
		t.Fatalf("alice: exit %d, summary %+v, %v", code, sum, err)
	}
	if code, err := s.Wait(20 * time.Second); err != nil || code != 0 {
		t.Fatalf("sipp: exit %d, %v\n%s", code, err, tailString(s.Output(), 6<<10))
	}
}
