package vocab

import (
	"bufio"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// loadHeaderFixture reads SIP header lines from testdata/secondary: "#"
// lines are comments, lines starting with white space continue the previous
// header (RFC 3261 §7.3.1 folding). Names are kept as written.
func loadHeaderFixture(t testing.TB, name string) map[string][]string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "secondary", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		l := strings.TrimRight(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "":
		case (l[0] == ' ' || l[0] == '\t') && len(lines) > 0:
			lines[len(lines)-1] += " " + strings.TrimSpace(l)
		default:
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	h := make(map[string][]string)
	for _, l := range lines {
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("%s: bad header line %q", name, l)
		}
		h[strings.TrimSpace(name)] = append(h[strings.TrimSpace(name)], strings.TrimSpace(val))
	}
	return h
}

func TestClassifySecondaryFixtures(t *testing.T) {
	frank2 := Party{URI: "sip:frank.carius2@netatwork.de", User: "frank.carius2"}
	tests := []struct {
		file     string
		called   string
		want     Secondary
		describe string
	}{
		{
			file:   "lync_response_group.txt",
			called: "sip:frank.carius@netatwork.de",
			want: Secondary{Kind: SecondaryResponseGroup,
				For:   Party{URI: "sip:rgtest2013@netatwork.de", User: "rgtest2013"},
				Cause: 302, Text: "Accepted"},
			describe: "response group rgtest2013",
		},
		{
			file:     "lync_team_call.txt",
			called:   "sip:frank.carius@netatwork.de",
			want:     Secondary{Kind: SecondaryTeamCall, For: frank2, By: frank2, Text: "team-call"},
			describe: "team call for frank.carius2",
		},
		{
			file:     "lync_delegate.txt",
			called:   "sip:frank.carius@netatwork.de",
			want:     Secondary{Kind: SecondaryDelegate, For: frank2, By: frank2, Cause: 302, Text: "Moved Temporarily"},
			describe: "delegated call for frank.carius2",
		},
		{
			file:     "lync_forwarding.txt",
			called:   "SIP:Frank.Carius@NetAtWork.de",
			want:     Secondary{Kind: SecondaryForwarded, For: frank2, By: frank2, Cause: 302, Text: "Moved Temporarily"},
			describe: "forwarded from frank.carius2",
		},
		{
			file:   "rfc7044_busy_forward.txt",
			called: "sip:carol@chicago.example.com",
			want: Secondary{Kind: SecondaryForwarded,
				For:   Party{URI: "sip:bob@biloxi.example.com", User: "bob"},
				Cause: 486},
			describe: "forwarded from bob (busy)",
		},
		{
			file:   "diversion_no_answer.txt",
			called: "sip:+4930999@pbx.example.de",
			want: Secondary{Kind: SecondaryForwarded,
				For:   Party{DisplayName: "Bob Müller", URI: "sip:+4989555000@pbx.example.de", User: "+4989555000"},
				Cause: 408, Text: "no-answer"},
			describe: "forwarded from Bob Müller (no answer)",
		},
		{
			file:     "transfer_referred_by.txt",
			called:   "sip:me@example.org",
			want:     Secondary{Kind: SecondaryTransfer, By: Party{DisplayName: "Bob", URI: "sip:bob@example.org", User: "bob"}},
			describe: "transferred by Bob",
		},
		{
			file:   "primary_direct.txt",
			called: "sip:me@example.org",
			want:   Secondary{},
		},
		{
			file:   "primary_simultaneous_ring.txt",
			called: "sip:me@example.org",
			want:   Secondary{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			h := loadHeaderFixture(t, tc.file)
			got := ClassifySecondary(h, tc.called)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ClassifySecondary(%s) =\n %+v\nwant\n %+v", tc.file, got, tc.want)
			}
			if d := got.Describe(); d != tc.describe {
				t.Errorf("Describe() = %q, want %q", d, tc.describe)
			}
			if got.IsSecondary() != (tc.want.Kind != SecondaryNone) {
				t.Errorf("IsSecondary() = %v", got.IsSecondary())
			}
		})
	}
}

func TestClassifySecondaryCases(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string][]string
		called  string
		want    SecondaryKind
		wantFor string
	}{
		{"no headers", nil, "sip:me@x", SecondaryNone, ""},
		{"unknown ms reason", map[string][]string{"History-Info": {`<sip:a@x>;index=1;ms-retarget-reason=call-park,<sip:me@x>;index=1.1`}},
			"sip:me@x", SecondaryOther, "sip:a@x"},
		{"lower-case header name", map[string][]string{"history-info": {`<sip:a@x>;index=1;ms-retarget-reason=team-call,<sip:me@x>;index=1.1`}},
			"sip:me@x", SecondaryTeamCall, "sip:a@x"},
		{"compact referred-by", map[string][]string{"b": {`<sip:bob@x>`}}, "sip:me@x", SecondaryTransfer, ""},
		{"referred-by is us", map[string][]string{"Referred-By": {`<sip:me@x>`}}, "sip:me@x", SecondaryNone, ""},
		{"diversion naming us is skipped", map[string][]string{"Diversion": {`<sip:me@x>;reason=unconditional`}}, "sip:me@x", SecondaryNone, ""},
		{"untagged rfc4244 with cause", map[string][]string{"History-Info": {`<sip:bob@x?Reason=SIP%3Bcause%3D408>;index=1, <sip:me@x>;index=1.1`}},
			"sip:me@x", SecondaryForwarded, "sip:bob@x"},
		{"untagged without cause stays primary", map[string][]string{"History-Info": {`<sip:bob@x>;index=1, <sip:me@x>;index=1.1`}},
			"sip:me@x", SecondaryNone, ""},
		{"rc tag is same user", map[string][]string{"History-Info": {`<sip:me@x>;index=1, <sip:me@10.0.0.1?Reason=SIP%3Bcause%3D408>;index=1.1;rc=1, <sip:me@10.0.0.2>;index=1.2;rc=1`}},
			"sip:me@x", SecondaryNone, ""},
		{"tel aor matches sip number", map[string][]string{"Diversion": {`<tel:+4930111>;reason=user-busy`}},
			"sip:+4930111@pbx;user=phone", SecondaryNone, ""},
		{"unknown called uses last entry", map[string][]string{"History-Info": {`<sip:bob@x>;index=1, <sip:carol@y>;index=1.1;mp=1`}},
			"", SecondaryForwarded, "sip:bob@x"},
		{"garbage", map[string][]string{"History-Info": {`<<<;;,,"`}, "Diversion": {`>`}, "Referred-By": {`"`}},
			"sip:me@x", SecondaryNone, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ClassifySecondary(tc.headers, tc.called)
			if got.Kind != tc.want || got.For.URI != tc.wantFor {
				t.Errorf("ClassifySecondary = %+v, want kind %v for %q", got, tc.want, tc.wantFor)
			}
		})
	}
}

func TestParseHistoryInfo(t *testing.T) {
	got, err := ParseHistoryInfo([]string{
		`"Bob, the Builder" <sip:bob@x;cause=486?Reason=SIP%3Bcause%3D486%3Btext%3D%22Busy%2C%20Here%22>;index=1.1;mp=1;foo="a,b"`,
		`<tel:+4930123;phone-context=x>;index=2`,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []HistoryInfoEntry{
		{
			Target: Party{DisplayName: "Bob, the Builder", URI: "sip:bob@x", User: "bob"},
			Index:  "1.1", MP: "1", Cause: 486,
			Reason: ReasonHeader{"SIP", 486, "Busy, Here"},
			Params: map[string]string{"index": "1.1", "mp": "1", "foo": "a,b"},
		},
		{
			Target: Party{URI: "tel:+4930123", User: "+4930123"},
			Index:  "2",
			Params: map[string]string{"index": "2"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseHistoryInfo =\n %+v\nwant\n %+v", got, want)
	}
}

func TestParseDiversion(t *testing.T) {
	got, err := ParseDiversion([]string{`<sip:x@h>;reason=unconditional;counter=1`, `sip:y@h;reason="User-Busy";counter=3, bad`})
	if err == nil {
		t.Error("want error for the bad element")
	}
	if len(got) != 2 {
		t.Fatalf("got %d entries, want 2: %+v", len(got), got)
	}
	if got[0].Party.URI != "sip:x@h" || got[0].Reason != "unconditional" || got[0].Counter != 1 {
		t.Errorf("entry 0 = %+v", got[0])
	}
	if got[1].Party.URI != "sip:y@h" || got[1].Reason != "user-busy" || got[1].Counter != 3 {
		t.Errorf("entry 1 = %+v", got[1])
	}
}

func TestParseNameAddr(t *testing.T) {
	tests := []struct {
		in         string
		want       Party
		wantParams map[string]string
		wantErr    bool
	}{
		{`"Carius, Frank"<sip:frank.carius@netatwork.de>;tag=45fbe21c09;epid=2385f4c267`,
			Party{"Carius, Frank", "sip:frank.carius@netatwork.de", "frank.carius"},
			map[string]string{"tag": "45fbe21c09", "epid": "2385f4c267"}, false},
		{`Bob <sips:bob@example.org:5061;transport=tls>`, Party{"Bob", "sips:bob@example.org:5061", "bob"}, map[string]string{}, false},
		{`sip:+4930123@gw;user=phone;tag=x`, Party{"", "sip:+4930123@gw", "+4930123"}, map[string]string{"user": "phone", "tag": "x"}, false},
		{`<sip:%2B4930@gw>`, Party{"", "sip:%2B4930@gw", "+4930"}, map[string]string{}, false},
		{`<sip:alice@x`, Party{}, nil, true},
		{`no uri here`, Party{}, nil, true},
	}
	for i, tc := range tests {
		p, params, err := ParseNameAddr(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%d: ParseNameAddr(%q) err = %v", i, tc.in, err)
			continue
		}
		if p != tc.want || (!tc.wantErr && !reflect.DeepEqual(params, tc.wantParams)) {
			t.Errorf("%d: ParseNameAddr(%q) = %+v %v, want %+v %v", i, tc.in, p, params, tc.want, tc.wantParams)
		}
	}
}

func TestSameAOR(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"sip:Me@Example.org", "sips:me@example.org", true},
		{"<sip:me@example.org;gr=x>", "sip:me@example.org", true},
		{"tel:+49-30-123", "sip:+4930123@gw", true},
		{"sip:me@a", "sip:me@b", false},
		{"", "sip:me@a", false},
		{"tel:123", "sip:123@gw", false},
	}
	for i, tc := range tests {
		if got := SameAOR(tc.a, tc.b); got != tc.want {
			t.Errorf("%d: SameAOR(%q, %q) = %v, want %v", i, tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSecondaryKindText(t *testing.T) {
	for k := SecondaryNone; k <= SecondaryOther; k++ {
		b, err := k.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back SecondaryKind
		if err := back.UnmarshalText(b); err != nil || back != k {
			t.Errorf("%v: round trip = %v, %v", k, back, err)
		}
	}
	var k SecondaryKind
	if err := k.UnmarshalText([]byte("bogus")); err == nil {
		t.Error("UnmarshalText(bogus) = nil error")
	}
	if s := SecondaryKind(99).String(); s != "SecondaryKind(99)" {
		t.Errorf("String() = %q", s)
	}
}

func TestSecondaryDescribe(t *testing.T) {
	tests := []struct {
		in   Secondary
		want string
	}{
		{Secondary{}, ""},
		{Secondary{Kind: SecondaryTeamCall, For: Party{DisplayName: "Alice", URI: "sip:alice@x"}}, "team call for Alice"},
		{Secondary{Kind: SecondaryForwarded, For: Party{URI: "sip:+4930123@x", User: "+4930123"}, Cause: 486}, "forwarded from +4930123 (busy)"},
		{Secondary{Kind: SecondaryTransfer}, "transferred by someone"},
		{Secondary{Kind: SecondaryOther, Text: "call-park", For: Party{URI: "sip:p@x"}}, "redirected (call-park) for sip:p@x"},
	}
	for i, tc := range tests {
		if got := tc.in.Describe(); got != tc.want {
			t.Errorf("%d: Describe() = %q, want %q", i, got, tc.want)
		}
	}
}

// TestClassifyForkedLeg (issue 10): the History-Info the AnyDevice
// controller puts on a follow-me leg (the user's number, then this device
// as its contact with rc) makes the leg a forked secondary call, so the
// device does not journal a second missed call beside the controller's;
// a registrar's fork to our own binding stays our primary call.
func TestClassifyForkedLeg(t *testing.T) {
	hi := map[string][]string{"History-Info": {
		"<sip:+4930123456789@127.0.0.1:5070?Reason=SIP%3Bcause%3D302>;index=1, <sip:me@127.0.0.1:5080>;index=1.1;rc=1",
	}}
	s := ClassifySecondary(hi, "sip:me@127.0.0.1:5080")
	if s.Kind != SecondaryForked || s.For.User != "+4930123456789" {
		t.Fatalf("follow-me leg: %+v, want forked for the user's number", s)
	}
	if d := s.Describe(); !strings.Contains(d, "+4930123456789") {
		t.Errorf("Describe = %q", d)
	}
	own := map[string][]string{"History-Info": {
		"<sip:alice@example.com>;index=1, <sip:alice@192.0.2.7:5060;transport=tcp>;index=1.1;rc=1",
	}}
	if s := ClassifySecondary(own, "sip:alice@example.com"); s.Kind != SecondaryNone {
		t.Errorf("registrar fork to our binding: %+v, want primary", s)
	}
	if s := ClassifySecondary(own, ""); s.Kind != SecondaryNone {
		t.Errorf("registrar fork, no AOR known: %+v, want primary (same user)", s)
	}
}
