package journal

import (
	"fmt"
	"strings"
	"time"

	"github.com/anyphone/anyphone/cti/e164"
	"github.com/anyphone/anyphone/phone/vocab"
)

// Outcome is how a call ended, as the journal shows it.
type Outcome int

const (
	OutcomeUnknown           Outcome = iota // not ended yet, or not known
	OutcomeAnswered                         // answered here (by this user on any device)
	OutcomeMissed                           // rang unanswered until the no-answer timeout
	OutcomeAnsweredElsewhere                // CANCEL with Reason: SIP;cause=200
	OutcomeCallerCancelled                  // the caller gave up (plain CANCEL); for outgoing calls, we did
	OutcomeRejectedBusy                     // 486/600: rejected busy (by us, or the callee was busy)
	OutcomeUnavailable                      // 480/404/408 and the like: nobody there
	OutcomeDeclined                         // 603, or the user rejected it
	OutcomeVoicemail                        // redirected to voicemail (3xx)
	OutcomeFailed                           // transport, media or server failure
	OutcomeTransferred                      // answered, then transferred (our leg ended by the transfer)
)

var outcomeNames = [...]string{
	OutcomeUnknown:           "unknown",
	OutcomeAnswered:          "answered",
	OutcomeMissed:            "missed",
	OutcomeAnsweredElsewhere: "answered-elsewhere",
	OutcomeCallerCancelled:   "caller-cancelled",
	OutcomeRejectedBusy:      "rejected-busy",
	OutcomeUnavailable:       "unavailable",
	OutcomeDeclined:          "declined",
	OutcomeVoicemail:         "voicemail",
	OutcomeFailed:            "failed",
	OutcomeTransferred:       "transferred",
}

// outcomeRank orders outcomes for merging two sightings of one call: the
// most final wins (answered beats answered elsewhere beats voicemail ...).
var outcomeRank = [...]int{
	OutcomeUnknown:           0,
	OutcomeFailed:            1,
	OutcomeMissed:            2,
	OutcomeCallerCancelled:   3,
	OutcomeUnavailable:       4,
	OutcomeRejectedBusy:      5,
	OutcomeDeclined:          6,
	OutcomeVoicemail:         7,
	OutcomeAnsweredElsewhere: 8,
	OutcomeAnswered:          9,
	OutcomeTransferred:       10,
}

func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// MarshalText writes the names String returns.
func (o Outcome) MarshalText() ([]byte, error) {
	if o < 0 || int(o) >= len(outcomeNames) {
		return nil, fmt.Errorf("journal: unknown outcome %d", int(o))
	}
	return []byte(outcomeNames[o]), nil
}

// UnmarshalText parses the names String returns.
func (o *Outcome) UnmarshalText(b []byte) error {
	for i, n := range outcomeNames {
		if n == string(b) {
			*o = Outcome(i)
			return nil
		}
	}
	return fmt.Errorf("journal: unknown outcome %q", b)
}

func (o Outcome) rank() int {
	if o >= 0 && int(o) < len(outcomeRank) {
		return outcomeRank[o]
	}
	return 0
}

// OutcomeFor classifies how a call ended from its direction, whether it was
// answered, and its vocab.EndInfo (nil while the call is up).
func OutcomeFor(dir vocab.Direction, answered bool, end *vocab.EndInfo) Outcome {
	if answered {
		if end != nil && end.Cause == vocab.EndTransferred {
			return OutcomeTransferred
		}
		return OutcomeAnswered
	}
	if end == nil {
		return OutcomeUnknown
	}
	switch end.Cause {
	case vocab.EndAnsweredElsewhere:
		return OutcomeAnsweredElsewhere
	case vocab.EndCallerCancelled:
		return OutcomeCallerCancelled
	case vocab.EndRemoteHangup:
		if dir == vocab.Incoming {
			return OutcomeCallerCancelled
		}
		return OutcomeFailed
	case vocab.EndLocalHangup:
		if dir == vocab.Incoming {
			return OutcomeDeclined // we hung up a ringing call: rejected it
		}
		return OutcomeCallerCancelled
	case vocab.EndTimeout:
		if dir == vocab.Incoming {
			return OutcomeMissed
		}
		return OutcomeUnavailable
	case vocab.EndRejected:
		return outcomeForCode(end.Code, end.Q850)
	case vocab.EndFailed, vocab.EndMediaTimeout:
		return OutcomeFailed
	case vocab.EndTransferred:
		return OutcomeAnsweredElsewhere
	default:
		if end.Code != 0 || end.Q850 != 0 {
			return outcomeForCode(end.Code, end.Q850)
		}
		return OutcomeUnknown
	}
}

// outcomeForCode classifies a final status, or the Q.850 cause when there
// is no status.
func outcomeForCode(code, q850 int) Outcome {
	if code == 0 && q850 != 0 {
		code, _ = vocab.SIPForQ850AtUser(q850)
	}
	switch {
	case code == 486 || code == 600:
		return OutcomeRejectedBusy
	case code == 603:
		return OutcomeDeclined
	case code >= 300 && code < 400:
		return OutcomeVoicemail
	case code == 404 || code == 408 || code == 410 || code == 480 || code == 604:
		return OutcomeUnavailable
	case code == 487:
		return OutcomeCallerCancelled
	default:
		return OutcomeFailed
	}
}

// Identity is one end of a call as the journal stores it.
type Identity struct {
	Name   string `json:"name,omitempty"`   // display name
	URI    string `json:"uri,omitempty"`    // SIP or tel URI, without parameters
	Number string `json:"number,omitempty"` // E.164 (+4930...), "" if not a phone number
}

// IdentityOf builds an Identity from a vocab.Party, normalising the user
// part to E.164 with region (e.g. "DE") for numbers without a country code.
func IdentityOf(p vocab.Party, region string) Identity {
	id := Identity{Name: p.DisplayName, URI: p.URI}
	user := p.User
	if user == "" && strings.HasPrefix(p.URI, "tel:") {
		user = strings.TrimPrefix(p.URI, "tel:")
	}
	id.Number = NormalizeNumber(user, region)
	return id
}

// NormalizeNumber returns s in E.164 using libphonenumber, or "" if s is
// not written as a phone number. region is the default for national
// numbers; "" accepts only international ones. It is e164.Normalize, the
// rule cti/busy matches VIP numbers with.
func NormalizeNumber(s, region string) string {
	n, _ := e164.Normalize(s, region)
	return n
}

// Entry is one call in the journal.
type Entry struct {
	// ID is the row id, set by Record and List.
	ID int64 `json:"id"`
	// User is whose journal this is (account name or AOR).
	User string `json:"user"`
	// Key makes the call unique per user. Empty means DedupeKey(SIPCallID,
	// FromTag).
	Key       string `json:"key"`
	SIPCallID string `json:"sip_call_id,omitempty"`
	FromTag   string `json:"from_tag,omitempty"`

	Direction vocab.Direction `json:"direction"`
	Local     Identity        `json:"local"`
	Remote    Identity        `json:"remote"`

	Secondary     vocab.SecondaryKind `json:"secondary"`
	SecondaryText string              `json:"secondary_text,omitempty"` // vocab.Secondary.Describe()

	Started  time.Time `json:"started"`
	Answered time.Time `json:"answered,omitzero"`
	Ended    time.Time `json:"ended,omitzero"`

	Outcome  Outcome `json:"outcome"`
	Code     int     `json:"code,omitempty"`
	Phrase   string  `json:"phrase,omitempty"`
	Q850     int     `json:"q850,omitempty"`
	BusyRule string  `json:"busy_rule,omitempty"`
	Device   string  `json:"device,omitempty"`
	// Note says what happened beyond the outcome, for the WHY column:
	// "redirected by 302 to sip:vm@h, answered by sip:vm@h", the BYE's
	// Reason, ms-diagnostics (cti/endnote.go).
	Note string `json:"note,omitempty"`
	// Codec is the call's audio codec (PCMU, G722, opus); for a call
	// the AnyDevice relay transcoded, the device leg's and the remote
	// leg's: "opus/PCMU".
	Codec string `json:"codec,omitempty"`
	// SRTP is the crypto-suite that protected the media
	// (AES_CM_128_HMAC_SHA1_80); empty: RTP in clear or never connected.
	SRTP string `json:"srtp,omitempty"`

	// Missed is computed by Record (see IsMissed); it is ignored on input.
	Missed bool `json:"missed"`
	Read   bool `json:"read"`
}

// DedupeKey is the default key of a call: the SIP Call-ID and the From tag
// identify one call however many devices see it (RFC 3261 §12: they are
// two of the three dialog id parts, and all forks share them).
func DedupeKey(sipCallID, fromTag string) string {
	if sipCallID == "" {
		return ""
	}
	return sipCallID + ";" + fromTag
}

// Why is what the journal's WHY column says of e: the secondary-call
// description (team call for …, forwarded from …), where a transferred
// call went, and the note (redirects followed, a BYE's Reason,
// ms-diagnostics), joined with "; ".
func (e *Entry) Why() string {
	var parts []string
	switch {
	case e.SecondaryText != "":
		parts = append(parts, e.SecondaryText)
	case e.Secondary != vocab.SecondaryNone:
		parts = append(parts, e.Secondary.String())
	}
	if e.Outcome == OutcomeTransferred && e.Phrase != "" {
		parts = append(parts, e.Phrase)
	}
	if e.Note != "" {
		parts = append(parts, e.Note)
	}
	return strings.Join(parts, "; ")
}

// IsMissed reports whether e is a missed call: an incoming primary call
// that was not answered here or elsewhere. A call the user declined is not
// missed: the user saw it and chose. Busy rejects, voicemail, no-answer
// timeouts and callers giving up are.
func (e *Entry) IsMissed() bool {
	if e.Direction != vocab.Incoming || e.Secondary != vocab.SecondaryNone || !e.Answered.IsZero() {
		return false
	}
	switch e.Outcome {
	case OutcomeUnknown, OutcomeAnswered, OutcomeAnsweredElsewhere, OutcomeDeclined, OutcomeTransferred:
		return false
	default:
		return true
	}
}

// CallBack returns what to dial to call the remote party back: the E.164
// number when known, else the URI.
func (e *Entry) CallBack() string {
	if e.Remote.Number != "" {
		return e.Remote.Number
	}
	return e.Remote.URI
}

// merge folds a new sighting n of the same call into old and returns the
// result: non-empty fields of n win, times keep the earliest start and
// answer and the latest end, the most final outcome wins with its status,
// and read stays read.
func merge(old, n Entry) Entry {
	m := old
	str := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	str(&m.SIPCallID, n.SIPCallID)
	str(&m.FromTag, n.FromTag)
	if n.Direction != vocab.DirectionUnknown {
		m.Direction = n.Direction
	}
	str(&m.Local.Name, n.Local.Name)
	str(&m.Local.URI, n.Local.URI)
	str(&m.Local.Number, n.Local.Number)
	str(&m.Remote.Name, n.Remote.Name)
	str(&m.Remote.URI, n.Remote.URI)
	str(&m.Remote.Number, n.Remote.Number)
	if n.Secondary != vocab.SecondaryNone {
		m.Secondary = n.Secondary
		str(&m.SecondaryText, n.SecondaryText)
	}
	m.Started = earliest(old.Started, n.Started)
	m.Answered = earliest(old.Answered, n.Answered)
	if n.Ended.After(m.Ended) {
		m.Ended = n.Ended
	}
	if n.Outcome.rank() >= old.Outcome.rank() {
		m.Outcome, m.Code, m.Phrase, m.Q850 = n.Outcome, n.Code, n.Phrase, n.Q850
		str(&m.Device, n.Device)
	} else if m.Device == "" {
		m.Device = n.Device
	}
	str(&m.BusyRule, n.BusyRule)
	str(&m.Note, n.Note)
	str(&m.Codec, n.Codec)
	str(&m.SRTP, n.SRTP)
	m.Read = old.Read || n.Read
	return m
}

func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	default:
		return b
	}
}
