package journal

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/anyphone/anyphone/phone/vocab"
)

var base = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func openTest(t testing.TB) *Journal {
	t.Helper()
	j, err := Open(filepath.Join(t.TempDir(), "sub", "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func mustRecord(t testing.TB, j *Journal, e Entry) int64 {
	t.Helper()
	id, err := j.Record(context.Background(), e)
	if err != nil {
		t.Fatalf("Record(%s): %v", e.Key, err)
	}
	return id
}

func incoming(key string, minute int, outcome Outcome) Entry {
	return Entry{
		User: "me", SIPCallID: key, FromTag: "t",
		Direction: vocab.Incoming,
		Local:     Identity{URI: "sip:me@example.org"},
		Remote:    Identity{Name: "Caller " + key, URI: "sip:" + key + "@example.org"},
		Started:   base.Add(time.Duration(minute) * time.Minute),
		Ended:     base.Add(time.Duration(minute)*time.Minute + 20*time.Second),
		Outcome:   outcome,
	}
}

func TestMigrations(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "j.db")
	j, err := openWith(ctx, path, migrations)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := j.SchemaVersion(ctx); err != nil || v != len(migrations) {
		t.Fatalf("fresh SchemaVersion = %d, %v; want %d", v, err, len(migrations))
	}
	mustRecord(t, j, incoming("a", 0, OutcomeMissed))
	j.Close()

	// Reopening is a no-op; a later migration applies on top and keeps rows.
	next := append(append([]string{}, migrations...), `ALTER TABLE calls ADD COLUMN later TEXT NOT NULL DEFAULT ''`)
	j, err = openWith(ctx, path, next)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := j.SchemaVersion(ctx); v != len(next) {
		t.Fatalf("after upgrade SchemaVersion = %d, want %d", v, len(next))
	}
	if es, err := j.List(ctx, Filter{}); err != nil || len(es) != 1 {
		t.Fatalf("after upgrade List = %d entries, %v", len(es), err)
	}
	j.Close()

	// The older program refuses the newer database.
	if _, err := openWith(ctx, path, migrations); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("old program on new schema: err = %v, want ErrSchemaTooNew", err)
	}

	// A failing migration leaves the version where it was.
	bad := append(append([]string{}, next...), `THIS IS NOT SQL`)
	if _, err := openWith(ctx, path, bad); err == nil {
		t.Fatal("bad migration applied")
	}
	j, err = openWith(ctx, path, next)
	if err != nil {
		t.Fatalf("reopen after failed migration: %v", err)
	}
	defer j.Close()
	if v, _ := j.SchemaVersion(ctx); v != len(next) {
		t.Errorf("version after failed migration = %d, want %d", v, len(next))
	}
}

func TestOpenWAL(t *testing.T) {
	j := openTest(t)
	var mode, sync string
	if err := j.db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v", mode, err)
	}
	if err := j.db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != "1" {
		t.Errorf("synchronous = %q, %v; want 1 (NORMAL)", sync, err)
	}
}

func TestDefaultPath(t *testing.T) {
	tests := []struct {
		name, xdg, home, want string
	}{
		{"xdg set", "/data", "/home/u", "/data/anyphone/journal.db"},
		{"xdg unset", "", "/home/u", "/home/u/.local/share/anyphone/journal.db"},
		{"xdg relative is ignored", "rel", "/home/u", "/home/u/.local/share/anyphone/journal.db"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("XDG_DATA_HOME", tc.xdg)
			t.Setenv("HOME", tc.home)
			got, err := DefaultPath()
			if err != nil || got != tc.want {
				t.Errorf("DefaultPath() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestRecordDedupe(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	ringing := Entry{
		User: "me", SIPCallID: "abc@host", FromTag: "ft1", Direction: vocab.Incoming,
		Remote:  Identity{URI: "sip:alice@example.org"},
		Started: base, Device: "desk",
	}
	id1 := mustRecord(t, j, ringing)
	// The same INVITE seen again (retransmitted event): same row.
	id2 := mustRecord(t, j, ringing)
	// Another device of the same user answered it.
	answered := ringing
	answered.Remote = Identity{Name: "Alice", Number: "+4930123"}
	answered.Started = base.Add(time.Second) // this device saw it later
	answered.Answered = base.Add(5 * time.Second)
	answered.Ended = base.Add(time.Minute)
	answered.Outcome = OutcomeAnswered
	answered.Code = 200
	answered.Device = "mobile"
	id3 := mustRecord(t, j, answered)
	// The desk phone reports its own end later: CANCEL, answered elsewhere.
	elsewhere := ringing
	elsewhere.Ended = base.Add(6 * time.Second)
	elsewhere.Outcome = OutcomeAnsweredElsewhere
	id4 := mustRecord(t, j, elsewhere)
	// A different From tag is a different call (a new INVITE).
	other := ringing
	other.FromTag = "ft2"
	id5 := mustRecord(t, j, other)
	// Another user seeing the same call has a row of their own.
	team := ringing
	team.User = "colleague"
	id6 := mustRecord(t, j, team)

	if id1 != id2 || id1 != id3 || id1 != id4 {
		t.Errorf("ids %d %d %d %d, want one row", id1, id2, id3, id4)
	}
	if id5 == id1 || id6 == id1 || id5 == id6 {
		t.Errorf("distinct calls share ids: %d %d %d", id1, id5, id6)
	}
	es, err := j.List(ctx, Filter{User: "me"})
	if err != nil || len(es) != 2 {
		t.Fatalf("List = %d entries, %v; want 2", len(es), err)
	}
	var got Entry
	for _, e := range es {
		if e.ID == id1 {
			got = e
		}
	}
	want := Entry{
		ID: id1, User: "me", Key: "abc@host;ft1", SIPCallID: "abc@host", FromTag: "ft1", Direction: vocab.Incoming,
		Remote:  Identity{Name: "Alice", URI: "sip:alice@example.org", Number: "+4930123"},
		Started: base, Answered: base.Add(5 * time.Second), Ended: base.Add(time.Minute),
		Outcome: OutcomeAnswered, Code: 200, Device: "mobile",
	}
	if got != want {
		t.Errorf("merged entry =\n %+v\nwant\n %+v", got, want)
	}
}

func TestRecordNoKey(t *testing.T) {
	j := openTest(t)
	for i, e := range []Entry{{User: "me"}, {SIPCallID: "x"}, {User: "me", FromTag: "t"}} {
		if _, err := j.Record(context.Background(), e); !errors.Is(err, ErrNoKey) {
			t.Errorf("%d: err = %v, want ErrNoKey", i, err)
		}
	}
	if id := mustRecord(t, j, Entry{User: "me", Key: "custom", Direction: vocab.Outgoing}); id == 0 {
		t.Error("supplied key not accepted")
	}
}

func TestIsMissed(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		want bool
	}{
		{"no answer", Entry{Direction: vocab.Incoming, Outcome: OutcomeMissed}, true},
		{"caller gave up", Entry{Direction: vocab.Incoming, Outcome: OutcomeCallerCancelled}, true},
		{"rejected busy by policy", Entry{Direction: vocab.Incoming, Outcome: OutcomeRejectedBusy}, true},
		{"voicemail", Entry{Direction: vocab.Incoming, Outcome: OutcomeVoicemail}, true},
		{"unavailable", Entry{Direction: vocab.Incoming, Outcome: OutcomeUnavailable}, true},
		{"answered elsewhere", Entry{Direction: vocab.Incoming, Outcome: OutcomeAnsweredElsewhere}, false},
		{"answered", Entry{Direction: vocab.Incoming, Outcome: OutcomeAnswered}, false},
		{"answered time set", Entry{Direction: vocab.Incoming, Outcome: OutcomeFailed, Answered: base}, false},
		{"declined by the user", Entry{Direction: vocab.Incoming, Outcome: OutcomeDeclined}, false},
		{"still ringing", Entry{Direction: vocab.Incoming, Outcome: OutcomeUnknown}, false},
		{"team call not answered", Entry{Direction: vocab.Incoming, Outcome: OutcomeMissed, Secondary: vocab.SecondaryTeamCall}, false},
		{"response group", Entry{Direction: vocab.Incoming, Outcome: OutcomeCallerCancelled, Secondary: vocab.SecondaryResponseGroup}, false},
		{"outgoing unanswered", Entry{Direction: vocab.Outgoing, Outcome: OutcomeUnavailable}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.IsMissed(); got != tc.want {
				t.Errorf("IsMissed() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOutcomeFor(t *testing.T) {
	tests := []struct {
		name     string
		dir      vocab.Direction
		answered bool
		end      *vocab.EndInfo
		want     Outcome
	}{
		{"answered", vocab.Incoming, true, &vocab.EndInfo{Cause: vocab.EndRemoteHangup}, OutcomeAnswered},
		{"still up", vocab.Incoming, false, nil, OutcomeUnknown},
		{"cancel cause 200", vocab.Incoming, false, &vocab.EndInfo{Cause: vocab.CancelEndCause([]string{`SIP;cause=200;text="Call completed elsewhere"`})}, OutcomeAnsweredElsewhere},
		{"plain cancel", vocab.Incoming, false, &vocab.EndInfo{Cause: vocab.CancelEndCause(nil)}, OutcomeCallerCancelled},
		{"no answer timeout", vocab.Incoming, false, &vocab.EndInfo{Cause: vocab.EndTimeout}, OutcomeMissed},
		{"we rejected busy", vocab.Incoming, false, &vocab.EndInfo{Cause: vocab.EndRejected, Code: 486, Q850: 17}, OutcomeRejectedBusy},
		{"we answered 480", vocab.Incoming, false, &vocab.EndInfo{Cause: vocab.EndRejected, Code: 480}, OutcomeUnavailable},
		{"we sent voicemail", vocab.Incoming, false, &vocab.EndInfo{Cause: vocab.EndRejected, Code: 302}, OutcomeVoicemail},
		{"user declined", vocab.Incoming, false, &vocab.EndInfo{Cause: vocab.EndRejected, Code: 603}, OutcomeDeclined},
		{"user hung up ringing", vocab.Incoming, false, &vocab.EndInfo{Cause: vocab.EndLocalHangup}, OutcomeDeclined},
		{"callee busy", vocab.Outgoing, false, &vocab.EndInfo{Cause: vocab.EndRejected, Code: 486}, OutcomeRejectedBusy},
		{"callee busy everywhere", vocab.Outgoing, false, &vocab.EndInfo{Cause: vocab.EndRejected, Code: 600}, OutcomeRejectedBusy},
		{"callee unavailable q850 only", vocab.Outgoing, false, &vocab.EndInfo{Cause: vocab.EndRejected, Q850: 18}, OutcomeUnavailable},
		{"callee rejected q850 21", vocab.Outgoing, false, &vocab.EndInfo{Cause: vocab.EndRejected, Q850: 21}, OutcomeDeclined},
		{"we gave up", vocab.Outgoing, false, &vocab.EndInfo{Cause: vocab.EndLocalHangup}, OutcomeCallerCancelled},
		{"outgoing timeout", vocab.Outgoing, false, &vocab.EndInfo{Cause: vocab.EndTimeout}, OutcomeUnavailable},
		{"server error", vocab.Outgoing, false, &vocab.EndInfo{Cause: vocab.EndRejected, Code: 503}, OutcomeFailed},
		{"transport failure", vocab.Outgoing, false, &vocab.EndInfo{Cause: vocab.EndFailed}, OutcomeFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := OutcomeFor(tc.dir, tc.answered, tc.end); got != tc.want {
				t.Errorf("OutcomeFor = %v, want %v", got, tc.want)
			}
		})
	}
}

// fixture records a small journal covering every filter.
func fixture(t testing.TB, j *Journal) map[string]int64 {
	ids := map[string]int64{}
	add := func(name string, e Entry) { ids[name] = mustRecord(t, j, e) }
	add("missed", incoming("missed", 0, OutcomeMissed))
	gaveUp := incoming("gaveup", 1, OutcomeCallerCancelled)
	gaveUp.Remote = Identity{Name: "Müller, Jörg", URI: "sip:+4930123456@gw.example.de", Number: "+4930123456"}
	add("gaveup", gaveUp)
	add("elsewhere", incoming("elsewhere", 2, OutcomeAnsweredElsewhere))
	answered := incoming("answered", 3, OutcomeAnswered)
	answered.Answered = answered.Started.Add(4 * time.Second)
	answered.Code, answered.Phrase = 200, "OK"
	answered.Device = "desk"
	add("answered", answered)
	team := incoming("team", 4, OutcomeMissed)
	team.Secondary, team.SecondaryText = vocab.SecondaryTeamCall, "team call for Frank"
	add("team", team)
	busy := incoming("busy", 5, OutcomeRejectedBusy)
	busy.Code, busy.Phrase, busy.Q850, busy.BusyRule = 486, "Busy Here", 17, "busy-policy"
	add("busy", busy)
	out := Entry{User: "me", Key: "out", Direction: vocab.Outgoing, Remote: Identity{URI: "sip:bob@example.org"},
		Started: base.Add(6 * time.Minute), Ended: base.Add(6*time.Minute + 3*time.Second), Outcome: OutcomeUnavailable,
		Code: 480, Phrase: "Temporarily Unavailable", Q850: 18}
	add("out", out)
	otherUser := incoming("other", 7, OutcomeMissed)
	otherUser.User = "colleague"
	add("other", otherUser)
	return ids
}

func TestListFilters(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	ids := fixture(t, j)
	tests := []struct {
		name string
		f    Filter
		want []string // newest first
	}{
		{"all of mine", Filter{User: "me"}, []string{"out", "busy", "team", "answered", "elsewhere", "gaveup", "missed"}},
		{"all users", Filter{}, []string{"other", "out", "busy", "team", "answered", "elsewhere", "gaveup", "missed"}},
		{"missed", Filter{User: "me", View: ViewMissed}, []string{"busy", "gaveup", "missed"}},
		{"secondary", Filter{User: "me", View: ViewSecondary}, []string{"team"}},
		{"answered elsewhere", Filter{User: "me", View: ViewAnsweredElsewhere}, []string{"elsewhere"}},
		{"outgoing", Filter{User: "me", View: ViewOutgoing}, []string{"out"}},
		{"incoming", Filter{User: "me", View: ViewIncoming, Limit: 2}, []string{"busy", "team"}},
		{"search name", Filter{User: "me", Search: "müller"}, []string{"gaveup"}},
		{"search number", Filter{User: "me", Search: "30123"}, []string{"gaveup"}},
		{"search secondary text", Filter{User: "me", Search: "TEAM CALL"}, []string{"team"}},
		{"search is not a pattern", Filter{User: "me", Search: "%"}, nil},
		{"search underscore literal", Filter{User: "me", Search: "_"}, nil},
		{"page", Filter{User: "me", Limit: 2, Offset: 2}, []string{"team", "answered"}},
		{"offset only", Filter{User: "me", Offset: 5}, []string{"gaveup", "missed"}},
		{"since", Filter{User: "me", Since: base.Add(5 * time.Minute)}, []string{"out", "busy"}},
		{"before", Filter{User: "me", Before: base.Add(time.Minute)}, []string{"missed"}},
		{"unread missed", Filter{User: "me", View: ViewMissed, Unread: true}, []string{"busy", "gaveup", "missed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es, err := j.List(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range es {
				for name, id := range ids {
					if id == e.ID {
						got = append(got, name)
					}
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("List(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		})
	}
}

func TestUnreadMissed(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	ids := fixture(t, j)
	check := func(user string, want int) {
		t.Helper()
		if n, err := j.UnreadMissed(ctx, user); err != nil || n != want {
			t.Errorf("UnreadMissed(%q) = %d, %v; want %d", user, n, err, want)
		}
	}
	check("me", 3)
	check("colleague", 1)
	check("", 4)
	if err := j.MarkRead(ctx, ids["missed"], ids["answered"], 9999); err != nil {
		t.Fatal(err)
	}
	check("me", 2)
	// In a shared journal a user marks only her own entries.
	theirs, _ := j.List(ctx, Filter{User: "colleague", View: ViewMissed})
	if len(theirs) != 1 {
		t.Fatalf("the colleague's missed calls: %d", len(theirs))
	}
	if err := j.MarkReadFor(ctx, "me", theirs[0].ID); err != nil {
		t.Fatal(err)
	}
	check("colleague", 1)
	// A retransmitted sighting does not make a read call unread again.
	mustRecord(t, j, incoming("missed", 0, OutcomeMissed))
	check("me", 2)
	if err := j.MarkRead(ctx); err != nil {
		t.Fatal(err)
	}
	if err := j.MarkAllRead(ctx, "me"); err != nil {
		t.Fatal(err)
	}
	check("me", 0)
	check("colleague", 1)
	if err := j.MarkAllRead(ctx, ""); err != nil {
		t.Fatal(err)
	}
	check("", 0)
	// A missed call that turns out answered elsewhere stops being missed.
	late := incoming("late", 9, OutcomeMissed)
	mustRecord(t, j, late)
	check("me", 1)
	late.Outcome = OutcomeAnsweredElsewhere
	mustRecord(t, j, late)
	check("me", 0)
}

func TestPruneRetention(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	fixture(t, j)
	n, err := j.Prune(ctx, base.Add(3*time.Minute))
	if err != nil || n != 3 {
		t.Fatalf("Prune = %d, %v; want 3", n, err)
	}
	es, _ := j.List(ctx, Filter{User: "me"})
	if len(es) != 4 {
		t.Errorf("after prune %d of mine left, want 4", len(es))
	}
	tests := []struct {
		name   string
		r      Retention
		want   time.Time
		wantOK bool
	}{
		{"default one year", 0, base.Add(-DefaultRetention), true},
		{"thirty days", Retention(30 * 24 * time.Hour), base.Add(-30 * 24 * time.Hour), true},
		{"forever", -1, time.Time{}, false},
	}
	for _, tc := range tests {
		got, ok := tc.r.Cutoff(base)
		if !got.Equal(tc.want) || ok != tc.wantOK {
			t.Errorf("%s: Cutoff = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestExport(t *testing.T) {
	ctx := context.Background()
	for _, format := range []string{FormatCSV, FormatJSON} {
		t.Run(format, func(t *testing.T) {
			j := openTest(t)
			fixture(t, j)
			var buf bytes.Buffer
			if err := j.Export(ctx, &buf, format, Filter{User: "me"}); err != nil {
				t.Fatal(err)
			}
			golden.RequireEqual(t, buf.Bytes())
			// And it parses back.
			switch format {
			case FormatCSV:
				rows, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
				if err != nil || len(rows) != 8 || len(rows[0]) != len(csvHeader) {
					t.Errorf("csv: %d rows, %v", len(rows), err)
				}
			case FormatJSON:
				var es []map[string]any
				if err := json.Unmarshal(buf.Bytes(), &es); err != nil || len(es) != 7 {
					t.Errorf("json: %d entries, %v", len(es), err)
				}
			}
		})
	}
	t.Run("empty json", func(t *testing.T) {
		j := openTest(t)
		var buf bytes.Buffer
		if err := j.Export(ctx, &buf, FormatJSON, Filter{}); err != nil || buf.String() != "[]\n" {
			t.Errorf("empty export = %q, %v", buf.String(), err)
		}
	})
	t.Run("bad format", func(t *testing.T) {
		j := openTest(t)
		var buf bytes.Buffer
		if err := j.Export(ctx, &buf, "xml", Filter{}); !errors.Is(err, ErrBadFormat) || buf.Len() != 0 {
			t.Errorf("Export(xml) = %v, wrote %d bytes", err, buf.Len())
		}
	})
}

func TestIdentityOf(t *testing.T) {
	tests := []struct {
		p      vocab.Party
		region string
		want   Identity
	}{
		{vocab.Party{DisplayName: "Frank", URI: "sip:+495251304613@gw", User: "+495251304613"}, "", Identity{"Frank", "sip:+495251304613@gw", "+495251304613"}},
		{vocab.Party{URI: "sip:05251304613@gw", User: "05251304613"}, "DE", Identity{"", "sip:05251304613@gw", "+495251304613"}},
		{vocab.Party{URI: "tel:+1-212-555-0100"}, "", Identity{"", "tel:+1-212-555-0100", "+12125550100"}},
		{vocab.Party{URI: "sip:alice@example.org", User: "alice"}, "DE", Identity{"", "sip:alice@example.org", ""}},
	}
	for i, tc := range tests {
		if got := IdentityOf(tc.p, tc.region); got != tc.want {
			t.Errorf("%d: IdentityOf = %+v, want %+v", i, got, tc.want)
		}
	}
	e := Entry{Remote: Identity{URI: "sip:a@b", Number: "+4930"}}
	if e.CallBack() != "+4930" {
		t.Errorf("CallBack = %q", e.CallBack())
	}
	e.Remote.Number = ""
	if e.CallBack() != "sip:a@b" {
		t.Errorf("CallBack = %q", e.CallBack())
	}
}

func TestOutcomeText(t *testing.T) {
	for o := OutcomeUnknown; o <= OutcomeFailed; o++ {
		b, err := o.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Outcome
		if err := back.UnmarshalText(b); err != nil || back != o {
			t.Errorf("%v: round trip = %v, %v", o, back, err)
		}
	}
	if _, err := Outcome(99).MarshalText(); err == nil {
		t.Error("MarshalText(99) = nil")
	}
}

// TestRecordCodec: the codec is kept, and a later sighting without one
// (a ringing leg) does not erase it.
func TestRecordCodec(t *testing.T) {
	ctx := context.Background()
	j := openTest(t)
	e := incoming("c", 0, OutcomeAnswered)
	e.Codec = "opus/PCMU"
	mustRecord(t, j, e)
	e.Codec = ""
	mustRecord(t, j, e)
	es, err := j.List(ctx, Filter{})
	if err != nil || len(es) != 1 || es[0].Codec != "opus/PCMU" {
		t.Fatalf("List = %+v, %v; want one entry with codec opus/PCMU", es, err)
	}
}
