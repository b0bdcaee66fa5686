package vocab

import "fmt"

// RejectedError is a failed call as data: the final SIP status and, when the
// peer sent one, the Reason header's Q.850 cause (RFC 3326).
type RejectedError struct {
	Code   int    // SIP status code, e.g. 486
	Reason string // reason phrase, e.g. "Busy Here"
	Q850   int    // Q.850 cause from "Reason: Q.850;cause=N", 0 if absent
	Text   string // Reason header text parameter, if any
}

func (e *RejectedError) Error() string {
	s := fmt.Sprintf("phone: rejected %d %s", e.Code, e.Reason)
	if e.Q850 != 0 {
		s += fmt.Sprintf(" (Q.850 cause %d)", e.Q850)
	}
	return s
}

// Err returns how the call failed as an error: a *RejectedError for a final
// non-2xx answer (test it with errors.As), nil for a normal end.
func (e EndInfo) Err() error {
	switch e.Cause {
	case EndRejected:
		return &RejectedError{Code: e.Code, Reason: e.Reason, Q850: e.Q850, Text: e.Text}
	case EndFailed, EndTimeout, EndMediaTimeout:
		if e.Code != 0 {
			return &RejectedError{Code: e.Code, Reason: e.Reason, Q850: e.Q850, Text: e.Text}
		}
		return fmt.Errorf("phone: call %s: %s", e.Cause, e.Text)
	}
	return nil
}
