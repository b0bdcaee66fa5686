package ui

import (
	"slices"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/api"
)

// TestHeaderMessageWaiting: a MessageWaiting event puts "✉ new/old" in the
// header (kept at 80 columns); v calls the voicemail it names.
func TestHeaderMessageWaiting(t *testing.T) {
	f := newFake()
	m := newTestModel(t, f, 80, 24)
	if v := ansi.Strip(m.header.View()); strings.Contains(v, "✉") {
		t.Fatalf("header %q shows mail before any NOTIFY", v)
	}
	press(m, "v")
	if got := ansi.Strip(m.notice.View()); !strings.Contains(got, "no voicemail configured") {
		t.Errorf("v without a voicemail: notice %q", got)
	}
	m.Update(api.MessageWaiting{MWI: api.MessageSummary{Waiting: true, New: 2, Old: 8, Voicemail: "sip:*97@pbx"}})
	if v := ansi.Strip(m.header.View()); !strings.Contains(v, "✉ 2/8") {
		t.Errorf("header %q lacks ✉ 2/8", v)
	}
	press(m, "v")
	if !slices.Contains(f.calls(), "dial sip:*97@pbx") {
		t.Errorf("v did not dial the voicemail: %v", f.calls())
	}
	m.Update(api.MessageWaiting{MWI: api.MessageSummary{}})
	if v := ansi.Strip(m.header.View()); strings.Contains(v, "✉") {
		t.Errorf("header %q still shows mail with an empty box", v)
	}
}

// TestHeaderTLS: the header says TLS for a TLS line and warns when server
// certificates are not verified.
func TestHeaderTLS(t *testing.T) {
	f := newFake()
	f.snap = cti.Snapshot{Transport: "tls"}
	m := newTestModel(t, f, 100, 24)
	if v := ansi.Strip(m.header.View()); !strings.Contains(v, "TLS)") || strings.Contains(v, "UNVERIFIED") {
		t.Errorf("TLS header %q", v)
	}
	f.snap = cti.Snapshot{Transport: "tls", TLSInsecure: true}
	m = newTestModel(t, f, 100, 24)
	if v := ansi.Strip(m.header.View()); !strings.Contains(v, "TLS UNVERIFIED") {
		t.Errorf("insecure TLS header %q lacks the warning", v)
	}
}
