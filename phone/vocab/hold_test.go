package vocab

import (
	"encoding"
	"testing"
)

func TestHoldDialect(t *testing.T) {
	parse := []struct {
		in   string
		want HoldDialect
		err  bool
	}{
		{"", HoldDefault, false},
		{"default", HoldDefault, false},
		{"sendonly", HoldSendonly, false},
		{" SendOnly ", HoldSendonly, false},
		{"inactive", HoldInactive, false},
		{"zero-ip", HoldZeroIP, false},
		{"0.0.0.0", HoldZeroIP, false},
		{"RFC2543", HoldZeroIP, false},
		{"recvonly", HoldDefault, true},
		{"hold", HoldDefault, true},
	}
	for _, tt := range parse {
		t.Run("parse "+tt.in, func(t *testing.T) {
			got, err := ParseHoldDialect(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("ParseHoldDialect(%q) = %v, %v; want %v, err %t", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
	for _, d := range []HoldDialect{HoldDefault, HoldSendonly, HoldInactive, HoldZeroIP} {
		t.Run("round trip "+d.String(), func(t *testing.T) {
			b, err := d.MarshalText()
			if err != nil {
				t.Fatal(err)
			}
			var back HoldDialect
			var u encoding.TextUnmarshaler = &back
			if err := u.UnmarshalText(b); err != nil || back != d {
				t.Errorf("%v: %q → %v, %v", d, b, back, err)
			}
		})
	}
	if _, err := HoldDialect(42).MarshalText(); err == nil {
		t.Error("MarshalText(42) succeeded")
	}
	if s := HoldDialect(42).String(); s != "HoldDialect(42)" {
		t.Errorf("String(42) = %q", s)
	}
	var d HoldDialect = HoldZeroIP
	if err := d.UnmarshalText([]byte("bogus")); err == nil || d != HoldZeroIP {
		t.Errorf("UnmarshalText(bogus) = %v, value %v", err, d)
	}
}
