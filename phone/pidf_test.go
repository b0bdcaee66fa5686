package phone

import (
	"strings"
	"testing"

	"github.com/anyphone/anyphone/phone/vocab"
)

func TestPIDFRoundTrip(t *testing.T) {
	talking := vocab.PresenceInfo{Entity: "sip:bob@example.com", Dialogs: []vocab.DialogState{{ID: "c1", State: vocab.PhaseConfirmed}}}
	for _, tc := range []struct {
		name  string
		info  vocab.PresenceInfo
		basic string
		want  []string
		dnd   bool
	}{
		{"idle", vocab.PresenceInfo{Entity: "sip:bob@example.com"}, "open", nil, false},
		{"on the phone", talking, "open", []string{"on-the-phone"}, false},
		{"dnd", vocab.PresenceInfo{Entity: "sip:bob@example.com", DND: true}, "closed", []string{"<busy", noteDND}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := MarshalPIDF(tc.info)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range append(tc.want, "<basic>"+tc.basic+"</basic>", `entity="sip:bob@example.com"`) {
				if !strings.Contains(string(b), w) {
					t.Errorf("document lacks %q:\n%s", w, b)
				}
			}
			st, err := ParsePIDF(b)
			if err != nil || st.DND != tc.dnd || st.Entity != tc.info.Entity || st.Open == tc.dnd {
				t.Errorf("parsed %+v, %v; want dnd %v", st, err, tc.dnd)
			}
		})
	}
	if _, err := ParsePIDF([]byte("<presence")); err == nil {
		t.Error("a broken document parsed")
	}
}
