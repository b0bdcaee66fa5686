package busy

import (
	"errors"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/anyphone/anyphone/phone/vocab"
)

func secs(n int) *int { return &n }

var (
	t0        = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
	idle      = Situation{}
	onCall    = Situation{Active: 1, Calls: []vocab.CallID{"c1"}}
	onHold    = Situation{Held: 1, Calls: []vocab.CallID{"c1"}}
	inConf    = Situation{InConference: 2, Calls: []vocab.CallID{"c1", "c2"}}
	ringing   = Situation{RingingIn: 1, Calls: []vocab.CallID{"c1"}}
	dialing   = Situation{Dialing: 1, Calls: []vocab.CallID{"c1"}}
	alice     = Incoming{From: `"Alice" <sip:alice@example.org>;tag=1`, Called: "sip:me@example.org"}
	teamCall  = Incoming{From: "sip:carol@example.org", Called: "sip:me@example.org", Secondary: vocab.Secondary{Kind: vocab.SecondaryTeamCall}}
	vm        = "sip:voicemail@example.org"
	busyReply = `Q.850;cause=17;text="User busy"`
	unavReply = `Q.850;cause=18;text="No user responding"`
)

func TestDecide(t *testing.T) {
	tests := []struct {
		name       string
		policy     Policy
		sit        Situation
		in         Incoming
		wantAction Action
		wantRule   Rule
		wantCode   int
		wantReason string
		wantDetail string
	}{
		{"idle rings", Policy{}, idle, alice, Alert, RuleNoOtherCall, 0, "", ""},
		{"zero policy is call waiting", Policy{}, onCall, alice, Wait, RuleBusy, 0, "", ""},
		{"held call counts as busy", Policy{OnBusy: Busy}, onHold, alice, Busy, RuleBusy, 486, busyReply, ""},
		{"busy on busy", Policy{OnBusy: Busy}, onCall, alice, Busy, RuleBusy, 486, busyReply, ""},
		{"unavailable when busy", Policy{OnBusy: Unavailable}, onCall, alice, Unavailable, RuleBusy, 480, unavReply, ""},
		{"decline when busy", Policy{OnBusy: Decline}, onCall, alice, Decline, RuleBusy, 603, `Q.850;cause=21;text="Call rejected"`, ""},
		{"silent when busy", Policy{OnBusy: Silent}, onCall, alice, Silent, RuleBusy, 0, "", ""},
		{"voicemail when busy", Policy{OnBusy: Voicemail, VoicemailURI: vm}, onCall, alice, Voicemail, RuleBusy, 302, "", ""},
		{"voicemail without uri falls back", Policy{OnBusy: Voicemail}, onCall, alice, Unavailable, RuleBusy, 480, unavReply, ""},
		{"ringing does not count by default", Policy{OnBusy: Busy}, ringing, alice, Alert, RuleNotBusy, 0, "", ""},
		{"dialing does not count by default", Policy{OnBusy: Busy}, dialing, alice, Alert, RuleNotBusy, 0, "", ""},
		{"ringing counts with switch", Policy{OnBusy: Busy, CountSetupAsBusy: true}, ringing, alice, Busy, RuleBusy, 486, busyReply, ""},
		{"dialing counts with switch", Policy{OnBusy: Busy, CountSetupAsBusy: true}, dialing, alice, Busy, RuleBusy, 486, busyReply, ""},
		{"conference uses OnBusy when unset", Policy{OnBusy: Busy}, inConf, alice, Busy, RuleBusy, 486, busyReply, ""},
		{"conference has its own action", Policy{OnBusy: Busy, InConference: Wait}, inConf, alice, Wait, RuleInConference, 0, "", ""},
		{"dnd idle, no voicemail", Policy{DND: true}, idle, alice, Unavailable, RuleDND, 480, unavReply, ""},
		{"dnd idle, voicemail", Policy{DND: true, VoicemailURI: vm}, idle, alice, Voicemail, RuleDND, 302, "", ""},
		{"dnd action busy", Policy{DND: true, DNDAction: Busy}, onCall, alice, Busy, RuleDND, 486, busyReply, ""},
		{"dnd silent", Policy{DND: true, DNDAction: Silent}, idle, alice, Silent, RuleDND, 0, "", ""},
		{"dnd secondary never voicemail", Policy{DND: true, VoicemailURI: vm}, idle, teamCall, Unavailable, RuleDND, 480, unavReply, "team-call"},
		{"secondary waits by default even with busy on busy", Policy{OnBusy: Busy}, onCall, teamCall, Wait, RuleSecondary, 0, "", "team-call"},
		{"secondary own action", Policy{OnBusy: Wait, Secondary: Busy}, onCall, teamCall, Busy, RuleSecondary, 486, busyReply, "team-call"},
		{"secondary voicemail only when explicit", Policy{Secondary: Voicemail, VoicemailURI: vm}, onCall, teamCall, Voicemail, RuleSecondary, 302, "", "team-call"},
		{"secondary idle rings", Policy{OnBusy: Busy}, idle, teamCall, Alert, RuleNoOtherCall, 0, "", ""},
		{"vip gets through busy", Policy{OnBusy: Busy, VIP: []string{"sip:alice@example.org"}}, onCall, alice, Wait, RuleVIP, 0, "", "sip:alice@example.org"},
		{"vip gets through dnd", Policy{DND: true, VIP: []string{"alice@EXAMPLE.org"}}, idle, alice, Alert, RuleVIP, 0, "", "alice@EXAMPLE.org"},
		{"vip beats dnd while busy", Policy{DND: true, VIP: []string{"sip:*@example.org"}}, onCall, alice, Wait, RuleVIP, 0, "", "sip:*@example.org"},
		{"non vip stays busy", Policy{OnBusy: Busy, VIP: []string{"sip:bob@example.org"}}, onCall, alice, Busy, RuleBusy, 486, busyReply, ""},
		{"override lets through busy", Policy{OnBusy: Busy, Override: Override{Until: t0.Add(time.Minute)}}, onCall, alice, Wait, RuleOverride, 0, "", ""},
		{"override lets through dnd", Policy{DND: true, Override: Override{Until: t0.Add(time.Minute)}}, idle, alice, Alert, RuleOverride, 0, "", ""},
		{"expired override", Policy{OnBusy: Busy, Override: Override{Until: t0}}, onCall, alice, Busy, RuleBusy, 486, busyReply, ""},
		{"override until call ends, call up", Policy{OnBusy: Busy, Override: Override{UntilCallEnds: "c1"}}, onCall, alice, Wait, RuleOverride, 0, "", ""},
		{"override until call ends, call gone", Policy{OnBusy: Busy, Override: Override{UntilCallEnds: "c9"}}, onCall, alice, Busy, RuleBusy, 486, busyReply, ""},
		{"override both, time passed", Policy{OnBusy: Busy, Override: Override{UntilCallEnds: "c1", Until: t0.Add(-time.Second)}}, onCall, alice, Busy, RuleBusy, 486, busyReply, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.policy.Validate(); err != nil && tc.policy.OnBusy != Voicemail {
				t.Fatalf("policy invalid: %v", err)
			}
			d := tc.policy.Decide(t0, tc.sit, tc.in)
			if d.Action != tc.wantAction || d.Rule != tc.wantRule || d.Code != tc.wantCode || d.Reason != tc.wantReason || d.Detail != tc.wantDetail {
				t.Errorf("Decide = %+v\nwant action %v rule %s code %d reason %s detail %q",
					d, tc.wantAction, tc.wantRule, tc.wantCode, tc.wantReason, tc.wantDetail)
			}
			if d.Code != 0 && d.Phrase == "" {
				t.Errorf("code %d without phrase", d.Code)
			}
			if (d.Action == Voicemail) != (d.Target != "") {
				t.Errorf("action %v with target %q", d.Action, d.Target)
			}
		})
	}
}

func TestDecideVoicemailHeaders(t *testing.T) {
	p := Policy{OnBusy: Voicemail, VoicemailURI: "sip:vm@example.org;transport=tls"}
	d := p.Decide(t0, onCall, alice)
	wantTarget := "sip:vm@example.org;transport=tls;target=sip:me%40example.org;cause=486"
	if d.Target != wantTarget {
		t.Errorf("Target = %s, want %s", d.Target, wantTarget)
	}
	if want := "<sip:me@example.org>;reason=user-busy;counter=1"; d.Diversion != want {
		t.Errorf("Diversion = %s, want %s", d.Diversion, want)
	}
	// The History-Info we send must parse back with our own parser and say
	// that we were busy.
	hi, err := vocab.ParseHistoryInfo([]string{d.HistoryInfo})
	if err != nil || len(hi) != 2 {
		t.Fatalf("ParseHistoryInfo(%s) = %+v, %v", d.HistoryInfo, hi, err)
	}
	if hi[0].Reason.Cause != 486 || hi[1].MP != "1" || hi[1].Cause != 486 {
		t.Errorf("History-Info entries = %+v", hi)
	}
	sec := vocab.ClassifySecondary(map[string][]string{"History-Info": {d.HistoryInfo}}, "sip:vm@example.org")
	if sec.Kind != vocab.SecondaryForwarded || sec.Cause != 486 || sec.For.URI != "sip:me@example.org" {
		t.Errorf("voicemail side classifies our redirect as %+v", sec)
	}
}

func TestNoAnswer(t *testing.T) {
	tests := []struct {
		name        string
		policy      Policy
		in          Incoming
		wantAfter   time.Duration
		wantAction  Action
		wantCode    int
		wantDivText string
	}{
		{"default 20s 480", Policy{}, alice, 20 * time.Second, Unavailable, 480, ""},
		{"voicemail when configured", Policy{VoicemailURI: vm}, alice, 20 * time.Second, Voicemail, 302, "reason=no-answer"},
		{"explicit 480 despite voicemail", Policy{VoicemailURI: vm, NoAnswerAction: Unavailable}, alice, 20 * time.Second, Unavailable, 480, ""},
		{"zero seconds", Policy{NoAnswerSeconds: secs(0)}, alice, 0, Unavailable, 480, ""},
		{"no 60 s cap", Policy{NoAnswerSeconds: secs(300), VoicemailURI: vm}, alice, 300 * time.Second, Voicemail, 302, "reason=no-answer"},
		{"secondary never voicemail", Policy{VoicemailURI: vm}, teamCall, 20 * time.Second, Unavailable, 480, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.policy.Validate(); err != nil {
				t.Fatal(err)
			}
			if got := tc.policy.NoAnswerTimeout(); got != tc.wantAfter {
				t.Errorf("NoAnswerTimeout() = %v, want %v", got, tc.wantAfter)
			}
			d := tc.policy.NoAnswer(tc.in)
			if d.Action != tc.wantAction || d.Code != tc.wantCode || d.Rule != RuleNoAnswer || !strings.Contains(d.Diversion, tc.wantDivText) {
				t.Errorf("NoAnswer = %+v, want %v %d", d, tc.wantAction, tc.wantCode)
			}
			if d.Action == Voicemail && !strings.HasSuffix(d.Target, ";cause=408") {
				t.Errorf("Target = %s, want cause 408", d.Target)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		policy    Policy
		wantField string
	}{
		{"zero", Policy{}, ""},
		{"full", Policy{OnBusy: Busy, Secondary: Silent, DND: true, DNDAction: Voicemail, VoicemailURI: vm,
			VIP: []string{"+49 30 1234-5", "030 999", "sip:*@example.org", "boss@example.org"}, Region: "de", NoAnswerSeconds: secs(45)}, ""},
		{"timeout too long", Policy{NoAnswerSeconds: secs(301)}, "NoAnswerSeconds"},
		{"timeout negative", Policy{NoAnswerSeconds: secs(-1)}, "NoAnswerSeconds"},
		{"timeout max ok", Policy{NoAnswerSeconds: secs(300)}, ""},
		{"voicemail needs uri", Policy{OnBusy: Voicemail}, "OnBusy"},
		{"dnd cannot wait", Policy{DNDAction: Wait}, "DNDAction"},
		{"no answer cannot be busy", Policy{NoAnswerAction: Busy}, "NoAnswerAction"},
		{"unknown action", Policy{Secondary: Action(42)}, "Secondary"},
		{"bad vip pattern", Policy{VIP: []string{"sip:[a@x"}}, "VIP[0]"},
		{"empty vip", Policy{VIP: []string{"sip:a@x", " "}}, "VIP[1]"},
		{"national number without region", Policy{VIP: []string{"030 1234"}}, "VIP[0]"},
		{"bad region", Policy{Region: "XX"}, "Region"},
		{"bad voicemail uri", Policy{VoicemailURI: "voicemail"}, "VoicemailURI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.wantField {
				t.Fatalf("Validate() = %v, want FieldError on %s", err, tc.wantField)
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("error does not wrap ErrInvalidPolicy")
			}
		})
	}
}

func TestMatchVIP(t *testing.T) {
	tests := []struct {
		name   string
		vip    []string
		region string
		from   string
		want   bool
	}{
		{"same uri", []string{"sip:boss@example.org"}, "", "<sip:boss@example.org>;tag=x", true},
		{"uri case and scheme", []string{"Boss@Example.org"}, "", "sips:boss@example.org", true},
		{"other uri", []string{"sip:boss@example.org"}, "", "sip:bob@example.org", false},
		{"international vs national", []string{"+49 30 1234567"}, "DE", "sip:030-1234567@pbx.example.de", true},
		{"national entry vs sip number", []string{"030 1234567"}, "DE", `"Tochter" <sip:+49301234567@gw;user=phone>`, true},
		{"tel uri", []string{"+4930 1234567"}, "", "tel:+49-30-1234567", true},
		{"bare number caller", []string{"+4930 1234567"}, "DE", "0301234567", true},
		{"different number", []string{"+4930 1234567"}, "DE", "sip:+4930999@gw", false},
		{"number pattern", []string{"+4930*"}, "DE", "sip:030555@gw", true},
		{"number pattern miss", []string{"+4930*"}, "DE", "sip:+4989555@gw", false},
		{"domain pattern", []string{"sip:*@family.example"}, "", "sip:Kid@Family.example", true},
		{"empty caller", []string{"sip:*"}, "", "", false},
		{"no list", nil, "", "sip:a@b", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, got := matchVIP(tc.vip, tc.region, tc.from); got != tc.want {
				t.Errorf("matchVIP(%q, %q) = %v, want %v", tc.vip, tc.from, got, tc.want)
			}
		})
	}
}

func TestNormalizeNumber(t *testing.T) {
	tests := []struct {
		in, region, want string
		ok               bool
	}{
		{"+49 (30) 1234-567", "", "+49301234567", true},
		{"030 1234567", "DE", "+49301234567", true},
		{"030 1234567", "", "", false},
		{"alice", "DE", "", false},
		{"+1 212 555 0100", "DE", "+12125550100", true},
	}
	for i, tc := range tests {
		got, ok := NormalizeNumber(tc.in, tc.region)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%d: NormalizeNumber(%q, %q) = %q, %v; want %q, %v", i, tc.in, tc.region, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSummarize(t *testing.T) {
	calls := []vocab.CallInfo{
		{ID: "new", State: vocab.CallIncoming},
		{ID: "a", State: vocab.CallActive},
		{ID: "h", State: vocab.CallActive, LocalHold: true},
		{ID: "conf1", State: vocab.CallActive},
		{ID: "r", State: vocab.CallIncoming},
		{ID: "d", State: vocab.CallRinging},
		{ID: "e", State: vocab.CallEarly},
		{ID: "x", State: vocab.CallEnded},
	}
	got := Summarize(calls, "new", func(id vocab.CallID) bool { return id == "conf1" })
	want := Situation{Active: 1, Held: 1, InConference: 1, RingingIn: 1, Dialing: 2}
	if got.Active != want.Active || got.Held != want.Held || got.InConference != want.InConference ||
		got.RingingIn != want.RingingIn || got.Dialing != want.Dialing || len(got.Calls) != 6 {
		t.Errorf("Summarize = %+v, want %+v with 6 calls", got, want)
	}
	var st []vocab.CallStatus
	for _, c := range calls {
		st = append(st, vocab.CallStatus{ID: c.ID, State: c.State, LocalHold: c.LocalHold})
	}
	if s := SummarizeStatus(nil, st, "new", func(id vocab.CallID) bool { return id == "conf1" }); !reflect.DeepEqual(s, got) {
		t.Errorf("SummarizeStatus = %+v, Summarize = %+v", s, got)
	}
}

func TestActionText(t *testing.T) {
	for a := Unset; a <= Voicemail; a++ {
		b, err := a.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Action
		if err := back.UnmarshalText(b); err != nil || back != a {
			t.Errorf("%v: round trip %q = %v, %v", a, b, back, err)
		}
	}
	var a Action
	if err := a.UnmarshalText([]byte("dnd")); err == nil {
		t.Error("UnmarshalText(dnd) = nil error")
	}
	if _, err := Action(99).MarshalText(); err == nil {
		t.Error("MarshalText(99) = nil error")
	}
	if Action(99).String() != "Action(99)" || Unset.String() != "unset" || Wait.String() != "wait" {
		t.Error("String() names")
	}
}

// TestImports keeps the package doc honest: busy must not import ui, cti,
// sipgo or diago directly.
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbidden := []string{"github.com/anyphone/anyphone/ui", "github.com/anyphone/anyphone/cti", "github.com/emiago/sipgo", "github.com/emiago/diago"}
	fset := token.NewFileSet()
	for _, f := range files {
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p == "github.com/anyphone/anyphone/cti/e164" {
				continue // the number rule, a leaf shared with journal
			}
			for _, bad := range forbidden {
				if p == bad || strings.HasPrefix(p, bad+"/") {
					t.Errorf("%s imports %s", f, p)
				}
			}
		}
	}
}
