package busy

import (
	"errors"
	"fmt"
)

// ErrInvalidPolicy is wrapped by every error Policy.Validate returns.
var ErrInvalidPolicy = errors.New("busy: invalid policy")

// FieldError names the Policy field that is wrong and why. It wraps
// ErrInvalidPolicy.
type FieldError struct {
	Field string // Go field name, e.g. "NoAnswerSeconds" or "VIP[2]"
	Value any    // the offending value
	Msg   string // what is wrong
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("busy: invalid policy: %s = %v: %s", e.Field, e.Value, e.Msg)
}

func (e *FieldError) Unwrap() error { return ErrInvalidPolicy }
