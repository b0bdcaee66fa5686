package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/alecthomas/kong"

	"github.com/anyphone/anyphone/cti/journal"
	"github.com/anyphone/anyphone/phone"
)

// seedJournal writes four calls of bob and one of carol.
func seedJournal(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := journal.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	now := time.Now().Add(-time.Hour)
	in := func(id string, o journal.Outcome, sec phone.SecondaryKind, name string) journal.Entry {
		return journal.Entry{User: "bob", SIPCallID: id, Direction: phone.Incoming, Outcome: o, Secondary: sec,
			Remote:  journal.Identity{Name: name, URI: "sip:" + strings.ToLower(name) + "@example.org"},
			Started: now, Ended: now.Add(time.Second), Device: "desk"}
	}
	for i, e := range []journal.Entry{
		in("a", journal.OutcomeCallerCancelled, phone.SecondaryNone, "Alice"),
		in("b", journal.OutcomeAnsweredElsewhere, phone.SecondaryNone, "Bert"),
		in("c", journal.OutcomeCallerCancelled, phone.SecondaryTeamCall, "Chris"),
		in("d", journal.OutcomeRejectedBusy, phone.SecondaryNone, "Dora"),
		{User: "carol", SIPCallID: "e", Direction: phone.Incoming, Outcome: journal.OutcomeMissed, Started: now},
		{User: "carol", SIPCallID: "f", Direction: phone.Outgoing, Outcome: journal.OutcomeAnswered, Started: now,
			Answered: now, Ended: now.Add(time.Minute), Codec: "opus/PCMU"},
	} {
		e.Started = e.Started.Add(time.Duration(i) * time.Second)
		if _, err := j.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// runJournal parses args as `anyphone journal ...` and runs it, returning
// what it wrote to stdout.
func runJournal(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var c struct {
		Globals
		Journal JournalCmd `cmd:""`
	}
	p, err := kong.New(&c, kong.Name("anyphone"), kong.Exit(func(int) { t.Fatalf("kong exit on %v", args) }))
	if err != nil {
		t.Fatal(err)
	}
	kctx, err := p.Parse(append([]string{"journal"}, args...))
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	c.Journal.List.out, c.Journal.Missed.out, c.Journal.Export.out, c.Journal.MarkRead.out = &out, &out, &out, &out
	err = kctx.Run(&c.Globals)
	return out.String(), err
}

func TestJournalCommand(t *testing.T) {
	db := seedJournal(t)
	tests := []struct {
		name    string
		args    []string
		want    []string // substrings of stdout
		notWant []string
	}{
		{"list all", []string{"list", "--db", db}, []string{"Alice", "Bert", "Chris", "Dora", "team-call"}, nil},
		{"list one user", []string{"list", "--db", db, "--user", "carol"}, []string{"missed"}, []string{"Alice"}},
		{"list missed", []string{"list", "--db", db, "--missed", "--user", "bob"}, []string{"Alice", "Dora", "caller-cancelled *"}, []string{"Bert", "Chris"}},
		{"list secondary", []string{"list", "--db", db, "--secondary"}, []string{"Chris"}, []string{"Alice", "Bert"}},
		{"list elsewhere", []string{"list", "--db", db, "--elsewhere"}, []string{"Bert", "answered-elsewhere"}, []string{"Alice"}},
		{"list search", []string{"list", "--db", db, "--search", "dor"}, []string{"Dora"}, []string{"Alice"}},
		{"missed count", []string{"missed", "--db", db, "--user", "bob"}, []string{"2 unread missed call(s)", "Alice", "Dora"}, []string{"Bert"}},
		{"export csv", []string{"export", "--db", db, "--format", "csv", "--user", "bob"}, []string{"id,user,direction", "rejected-busy"}, nil},
		{"export json", []string{"export", "--db", db, "--format", "json", "--missed"}, []string{`"outcome":"missed"`}, []string{"Bert"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runJournal(t, tc.args...)
			if err != nil {
				t.Fatalf("%v: %v", tc.args, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(out, w) {
					t.Errorf("%v: output has %q:\n%s", tc.args, w, out)
				}
			}
		})
	}
}

func TestJournalCommandJSONAndMarkRead(t *testing.T) {
	db := seedJournal(t)
	out, err := runJournal(t, "list", "--db", db, "--json", "--user", "bob")
	if err != nil {
		t.Fatal(err)
	}
	var rows []journal.Entry
	if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 4 {
		t.Fatalf("list --json: %d rows, %v:\n%s", len(rows), err, out)
	}
	var alice journal.Entry
	for _, e := range rows {
		if e.Remote.Name == "Alice" {
			alice = e
		}
	}
	if out, err = runJournal(t, "mark-read", "--db", db, "--user", "bob", "--", strings.TrimSpace(jsonNumber(alice.ID))); err != nil || !strings.Contains(out, "1 unread missed") {
		t.Fatalf("mark-read id: %q, %v", out, err)
	}
	if out, err = runJournal(t, "mark-read", "--db", db, "--user", "bob"); err != nil || !strings.Contains(out, "0 unread missed") {
		t.Fatalf("mark-read all: %q, %v", out, err)
	}
	out, err = runJournal(t, "missed", "--db", db, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		UnreadMissed int             `json:"unread_missed"`
		Calls        []journal.Entry `json:"calls"`
	}
	if err := json.Unmarshal([]byte(out), &m); err != nil || m.UnreadMissed != 1 || len(m.Calls) != 3 {
		t.Errorf("missed --json (every user: carol's call still unread) = %+v, %v", m, err)
	}
	file := filepath.Join(t.TempDir(), "out.json")
	if _, err := runJournal(t, "export", "--db", db, "--format", "json", "--out", file); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(file); err != nil || !json.Valid(b) {
		t.Errorf("export --out: %v %q", err, b)
	}
	if _, err := runJournal(t, "export", "--db", db, "--format", "xml"); err == nil {
		t.Error("export --format xml accepted")
	}
}

func jsonNumber(n int64) string { b, _ := json.Marshal(n); return string(b) }
