package vocab

import (
	"fmt"
	"strconv"
	"strings"
)

// HoldDialect is how we put a call on hold in the SDP we offer. Peers disagree: most accept
// RFC 3264 a=sendonly, some PBXs and gateways want a=inactive, old ones only understand the
// RFC 2543 form (c=IN IP4 0.0.0.0). The zero value HoldDefault means HoldSendonly.
type HoldDialect int

const (
	// HoldDefault is the zero value; it behaves as HoldSendonly.
	HoldDefault HoldDialect = iota
	// HoldSendonly offers a=sendonly (RFC 3264 §8.4): we keep sending music or silence.
	HoldSendonly
	// HoldInactive offers a=inactive: no media in either direction.
	HoldInactive
	// HoldZeroIP offers c=IN IP4 0.0.0.0 without a direction attribute (RFC 2543 §B.5).
	HoldZeroIP
)

// String returns the name ParseHoldDialect accepts: "default", "sendonly", "inactive" or
// "zero-ip".
func (d HoldDialect) String() string {
	switch d {
	case HoldDefault:
		return "default"
	case HoldSendonly:
		return "sendonly"
	case HoldInactive:
		return "inactive"
	case HoldZeroIP:
		return "zero-ip"
	default:
		return "HoldDialect(" + strconv.Itoa(int(d)) + ")"
	}
}

// ParseHoldDialect parses a configuration value. It accepts, case-insensitively, "sendonly",
// "inactive", "zero-ip" (aliases "0.0.0.0", "rfc2543"), and "" or "default" for HoldDefault.
func ParseHoldDialect(s string) (HoldDialect, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "default":
		return HoldDefault, nil
	case "sendonly":
		return HoldSendonly, nil
	case "inactive":
		return HoldInactive, nil
	case "zero-ip", "0.0.0.0", "rfc2543":
		return HoldZeroIP, nil
	}
	return HoldDefault, fmt.Errorf("phone: unknown hold dialect %q (want sendonly, inactive or zero-ip)", s)
}

// MarshalText implements encoding.TextMarshaler; it fails for values outside the constants.
func (d HoldDialect) MarshalText() ([]byte, error) {
	if d < HoldDefault || d > HoldZeroIP {
		return nil, fmt.Errorf("phone: invalid hold dialect %d", int(d))
	}
	return []byte(d.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseHoldDialect.
func (d *HoldDialect) UnmarshalText(b []byte) error {
	v, err := ParseHoldDialect(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}
