package vocab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const secretTestValue = "hunter2-very-secret"

func TestSecretNeverPrints(t *testing.T) {
	type account struct {
		User     string
		Password Secret
	}
	s := Secret(secretTestValue)
	acc := account{User: "alice", Password: s}
	ptr := &acc

	tests := []struct {
		name string
		got  func() string
		want string // substring that must be present ("" = no check)
	}{
		{"%v", func() string { return fmt.Sprintf("%v", s) }, "***"},
		{"%s", func() string { return fmt.Sprintf("%s", s) }, "***"},
		{"%q", func() string { return fmt.Sprintf("%q", s) }, `"***"`},
		{"%x", func() string { return fmt.Sprintf("%x", s) }, "***"},
		{"%+v", func() string { return fmt.Sprintf("%+v", s) }, "***"},
		{"%#v", func() string { return fmt.Sprintf("%#v", s) }, "***"},
		{"struct %v", func() string { return fmt.Sprintf("%v", acc) }, "***"},
		{"struct %+v", func() string { return fmt.Sprintf("%+v", acc) }, "Password:***"},
		{"struct %#v", func() string { return fmt.Sprintf("%#v", acc) }, "***"},
		{"pointer %+v", func() string { return fmt.Sprintf("%+v", ptr) }, "***"},
		{"Sprint", func() string { return fmt.Sprint(s) }, "***"},
		{"Sprintln", func() string { return fmt.Sprintln(s) }, "***"},
		{"String", s.String, "***"},
		{"GoString", s.GoString, "***"},
		{"json value", func() string { b, _ := json.Marshal(s); return string(b) }, `"***"`},
		{"json struct", func() string { b, _ := json.Marshal(acc); return string(b) }, `"Password":"***"`},
		{"json map", func() string { b, _ := json.Marshal(map[string]Secret{"p": s}); return string(b) }, `"***"`},
		{"text", func() string { b, _ := s.MarshalText(); return string(b) }, "***"},
		{"slog json", func() string {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).Info("login", "password", s, "acc", acc)
			return buf.String()
		}, `"password":"***"`},
		{"slog text", func() string {
			var buf bytes.Buffer
			slog.New(slog.NewTextHandler(&buf, nil)).Info("login", "password", s, slog.Any("p2", s))
			return buf.String()
		}, "password=***"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.got()
			if strings.Contains(got, secretTestValue) || strings.Contains(got, "hunter2") {
				t.Fatalf("%s leaked the secret: %q", tt.name, got)
			}
			if tt.want != "" && !strings.Contains(got, tt.want) {
				t.Fatalf("%s = %q, want it to contain %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestSecretEmptyAndReveal(t *testing.T) {
	tests := []struct {
		name   string
		s      Secret
		print  string
		json   string
		reveal string
	}{
		{"empty", "", "", `""`, ""},
		{"set", Secret(secretTestValue), "***", `"***"`, secretTestValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fmt.Sprint(tt.s); got != tt.print {
				t.Errorf("%s: Sprint = %q, want %q", tt.name, got, tt.print)
			}
			b, err := json.Marshal(tt.s)
			if err != nil || string(b) != tt.json {
				t.Errorf("%s: json = %s, %v; want %s", tt.name, b, err, tt.json)
			}
			if got := tt.s.Reveal(); got != tt.reveal {
				t.Errorf("%s: Reveal = %q, want %q", tt.name, got, tt.reveal)
			}
		})
	}
}

// TestSecretUnmarshal checks that configuration still loads into a Secret:
// redaction is on output only.
func TestSecretUnmarshal(t *testing.T) {
	var v struct{ Password Secret }
	if err := json.Unmarshal([]byte(`{"Password":"pw1"}`), &v); err != nil {
		t.Fatal(err)
	}
	if v.Password.Reveal() != "pw1" {
		t.Fatalf("Reveal = %q, want pw1", v.Password.Reveal())
	}
}
