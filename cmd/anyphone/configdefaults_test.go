package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigShowEffective (issue 13): config show prints what the phone
// runs with, not the zeros that mean "the default".
func TestConfigShowEffective(t *testing.T) {
	clearConfigEnv(t)
	path := filepath.Join(t.TempDir(), "anyphone.toml")
	if err := os.WriteFile(path, []byte("[account]\naor = \"sip:alice@127.0.0.1\"\n[busy]\nvoicemail_uri = \"sip:vm@127.0.0.1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	if err := (&ConfigShowCmd{}).Run(&Globals{Config: path}, &ConfigCmd{out: out}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`on_busy = "wait"`, `in_conference = "wait"`, `secondary = "wait"`, `expiry = "10m0s"`,
		`dnd_action = "voicemail"`, `no_answer_action = "voicemail"`, "no_answer_seconds = 20", "max_calls = 64", `keepalive = "30s"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("config show lacks %s:\n%s", want, out)
		}
	}
}

// TestCtlPolicyEffective (issue 13): ctl policy prints the effective
// policy, and the configured fields apart.
func TestCtlPolicyEffective(t *testing.T) {
	got, err := effectivePolicyJSON([]byte(`{"policy":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"policy":{"on_busy":"wait","in_conference":"wait","secondary":"wait","dnd_action":"unavailable","no_answer_seconds":20,"no_answer_action":"unavailable"},"configured":{}}`
	if string(got) != want {
		t.Errorf("ctl policy prints\n%s\nwant\n%s", got, want)
	}
}
