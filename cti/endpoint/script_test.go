package endpoint

import (
	"slices"
	"testing"
	"time"
)

func TestParseScript(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Step
		bad  bool
	}{
		{name: "issue example", in: "hold@2s,resume@4s,refer:sip:x@h@5s,dtmf:123@1s", want: []Step{
			{At: 2 * time.Second, Action: "hold"},
			{At: 4 * time.Second, Action: "resume"},
			{At: 5 * time.Second, Action: "refer", Arg: "sip:x@h"},
			{At: time.Second, Action: "dtmf", Arg: "123"},
		}},
		{name: "hold dialect, transfer alias, spaces", in: " hold:inactive@500ms , transfer:sip:c@127.0.0.1:5070@1s,hangup@3s", want: []Step{
			{At: 500 * time.Millisecond, Action: "hold", Arg: "inactive"},
			{At: time.Second, Action: "refer", Arg: "sip:c@127.0.0.1:5070"},
			{At: 3 * time.Second, Action: "hangup"},
		}},
		{name: "empty", in: "", want: nil},
		{name: "no delay", in: "hold", bad: true},
		{name: "bad delay", in: "hold@soon", bad: true},
		{name: "unknown action", in: "park@1s", bad: true},
		{name: "bad dialect", in: "hold:sideways@1s", bad: true},
		{name: "refer without target", in: "refer@1s", bad: true},
		{name: "resume with argument", in: "resume:x@1s", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseScript(tc.in)
			if (err != nil) != tc.bad {
				t.Fatalf("ParseScript(%q) err = %v, want bad=%v", tc.in, err, tc.bad)
			}
			if !tc.bad && !slices.Equal(got, tc.want) {
				t.Errorf("ParseScript(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
