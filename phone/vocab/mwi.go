package vocab

import "time"

// MessageSummary is the state of the user's voicemail box, from the
// message-summary event package (RFC 3842): whether messages wait and how
// many voice messages are new and old (urgent ones counted separately, and
// also in New and Old).
type MessageSummary struct {
	// Waiting is the Messages-Waiting line: yes or no.
	Waiting bool `json:"waiting"`
	// Account is the Message-Account line, the mailbox's URI, if given.
	Account string `json:"account,omitempty"`
	// New and Old count voice messages (Voice-Message: new/old);
	// NewUrgent and OldUrgent are the counts in parentheses.
	New       int `json:"new"`
	Old       int `json:"old"`
	NewUrgent int `json:"new_urgent,omitempty"`
	OldUrgent int `json:"old_urgent,omitempty"`
	// Voicemail is the URI the voicemail key calls, "" if none is
	// configured (then Account, if any).
	Voicemail string `json:"voicemail,omitempty"`
	// Subscription says how our SUBSCRIBE stands: "active",
	// "pending", "retrying: 404 Not Found", "unsolicited" (NOTIFYs
	// arrive without one), ...
	Subscription string `json:"subscription,omitempty"`
	// Updated is when the last NOTIFY arrived; zero before the first.
	Updated time.Time `json:"updated,omitzero"`
}
