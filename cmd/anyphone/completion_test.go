package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// completionScript runs `anyphone completion SHELL` on the real CLI model.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	var c cli
	p, err := kong.New(&c, kong.Name("anyphone"), kong.Vars{"version": "test"}, kong.Exit(func(int) { t.Fatal("kong exit") }))
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := p.Parse([]string{"completion", shell})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	c.Completion.out = &out
	if err := kctx.Run(&c.Globals); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestCompletionBash (issue 13): the bash script completes commands,
// subcommands, flags and enum values, as bash runs it.
func TestCompletionBash(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	script := filepath.Join(t.TempDir(), "anyphone.bash")
	if err := os.WriteFile(script, []byte(completionScript(t, "bash")), 0o600); err != nil {
		t.Fatal(err)
	}
	complete := func(line string) []string {
		t.Helper()
		words := strings.Fields(line)
		if strings.HasSuffix(line, " ") {
			words = append(words, "")
		}
		var q []string
		for _, w := range words {
			q = append(q, "'"+w+"'")
		}
		prog := "source " + script + "\nCOMP_WORDS=(" + strings.Join(q, " ") + ")\nCOMP_CWORD=" +
			itoa(len(words)-1) + "\n_anyphone\nprintf '%s\\n' \"${COMPREPLY[@]}\"\n"
		out, err := exec.Command(bash, "-c", prog).CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return strings.Fields(string(out))
	}
	has := func(got []string, want ...string) bool {
		for _, w := range want {
			found := false
			for _, g := range got {
				found = found || g == w
			}
			if !found {
				return false
			}
		}
		return true
	}
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"anyphone ", []string{"tui", "ctl", "journal", "completion", "--config", "--audio"}},
		{"anyphone c", []string{"ctl", "controller", "config", "completion"}},
		{"anyphone ctl ", []string{"ladder", "hold", "policy", "--addr"}},
		{"anyphone ctl ladder ", []string{"--pcap", "--raw"}},
		{"anyphone --config x.toml ctl lad", []string{"ladder"}},
		{"anyphone completion ", []string{"bash", "zsh", "fish"}},
		{"anyphone endpoint --answer ", []string{"auto", "manual", "reject"}},
		{"anyphone journal list --", []string{"--db", "--user", "--json"}},
	} {
		if got := complete(tc.line); !has(got, tc.want...) {
			t.Errorf("%q completes to %q, want %q among them", tc.line, got, tc.want)
		}
	}
	if got := complete("anyphone ctl ladder "); has(got, "tui") {
		t.Errorf("ctl ladder completes top-level commands: %q", got)
	}
}

// TestCompletionZshFish: the other scripts parse in their shells (when
// installed) and name the same commands.
func TestCompletionZshFish(t *testing.T) {
	for _, shell := range []string{"zsh", "fish"} {
		s := completionScript(t, shell)
		if !strings.Contains(s, "ladder") || !strings.Contains(s, "--pcap") {
			t.Errorf("%s script lacks ctl ladder --pcap", shell)
		}
		bin, err := exec.LookPath(shell)
		if err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s not installed (make deps installs it): %v", shell, err)
			}
			continue
		}
		path := filepath.Join(t.TempDir(), "anyphone."+shell)
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "-n", path).CombinedOutput(); err != nil {
			t.Errorf("%s -n: %v\n%s", shell, err, out)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
