package main

import (
	"strings"
	"testing"
)

// TestJournalListUserAndDuration (issue 13): journal list names the user
// when the rows are several users', and shows how long calls were talked.
func TestJournalListUserAndDuration(t *testing.T) {
	db := seedJournal(t)
	all, err := runJournal(t, "list", "--db", db)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(all), "\n")
	if !strings.HasPrefix(lines[0], "ID  USER") || !strings.Contains(lines[0], "DURATION") {
		t.Errorf("head %q, want USER and DURATION", lines[0])
	}
	var carol, bob bool
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		carol = carol || len(f) > 1 && f[1] == "carol"
		bob = bob || len(f) > 1 && f[1] == "bob"
	}
	if !carol || !bob {
		t.Errorf("rows do not name their users:\n%s", all)
	}
	if !strings.HasSuffix(strings.TrimSpace(lines[0]), "CODEC") || !strings.Contains(all, "opus/PCMU") {
		t.Errorf("no CODEC column with the transcoded call's codecs:\n%s", all)
	}
	one, err := runJournal(t, "list", "--db", db, "--user", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Split(one, "\n")[0], "USER") {
		t.Errorf("one user's list has a USER column:\n%s", one)
	}
}
