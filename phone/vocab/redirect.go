package vocab

// Redirect is one 3xx a call we placed followed (RFC 3261 §8.1.3.4): the
// target that answered Code and the Contact we called next.
type Redirect struct {
	Code   int    `json:"code"`
	Reason string `json:"reason,omitempty"`
	From   string `json:"from"` // the target that redirected
	To     string `json:"to"`   // the Contact we called next
	// After, when set, says why this Contact was called rather than the
	// one before it: "sip:a@h answered 486 Busy Here" (the 3xx listed
	// both; RFC 3261 §8.1.3.4).
	After string `json:"after,omitempty"`
}
