package ctl

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestPresenceCommands(t *testing.T) {
	tests := []struct {
		name, line, want string
		wantLog          []string
	}{
		{"presence", `{"cmd":"presence"}`, `{"ok":true,"result":{"presence":{"entity":"sip:me@127.0.0.1","dialogs":null},"watches":[]}}`, nil},
		{"watch", `{"cmd":"watch","args":{"target":" alice "}}`, `{"ok":true,"result":{"watch":{"target":"sip:alice@127.0.0.1","state":"pending","info":{"entity":"","dialogs":null}}}}`, []string{"Watch alice"}},
		{"watch without target", `{"cmd":"watch","args":{}}`, `{"ok":false,"error":{"code":"bad_request","message":"args: target: missing"}}`, nil},
		{"watch a long target", `{"cmd":"watch","args":{"target":"` + strings.Repeat("a", MaxWatchTarget+1) + `"}}`, `{"ok":false,"error":{"code":"bad_request","message":"args: target: too long"}}`, nil},
		{"unwatch", `{"cmd":"unwatch","args":{"target":"alice"}}`, `{"ok":true}`, []string{"Unwatch alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			resp := NewDispatcher(f, nil).Handle(t.Context(), []byte(tt.line))
			got, err := json.Marshal(resp)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
			}
			if log := f.recorded(); !slices.Equal(log, tt.wantLog) {
				t.Errorf("%s: log %q, want %q", tt.name, log, tt.wantLog)
			}
		})
	}
	f := newFake()
	f.setErr("Unwatch", errors.New("phone: not watched"))
	resp := NewDispatcher(f, nil).Handle(t.Context(), []byte(`{"cmd":"unwatch","args":{"target":"bob"}}`))
	if got, _ := json.Marshal(resp); string(got) != `{"ok":false,"error":{"code":"bad_request","message":"phone: not watched"}}` {
		t.Errorf("unwatch not watched: %s", got)
	}
}
