package vocab

import (
	"fmt"
	"time"
)

// CallID identifies a call inside this process. It is stable for the life of
// the call and unique across calls; it is not the SIP Call-ID.
type CallID string

// Direction says who placed the call.
type Direction int

const (
	DirectionUnknown Direction = iota
	Outgoing
	Incoming
)

func (d Direction) String() string {
	switch d {
	case Outgoing:
		return "outgoing"
	case Incoming:
		return "incoming"
	default:
		return "unknown"
	}
}

// Party is one end of a call as the SIP headers name it.
type Party struct {
	DisplayName string `json:"display_name,omitempty"`
	URI         string `json:"uri"`            // sip:user@host, without parameters
	User        string `json:"user,omitempty"` // the user part (a number or a name)
}

func (p Party) String() string {
	if p.DisplayName != "" {
		return fmt.Sprintf("%q <%s>", p.DisplayName, p.URI)
	}
	return p.URI
}

// EndCause says why a call ended.
type EndCause int

const (
	EndUnknown           EndCause = iota
	EndLocalHangup                // we sent BYE (or CANCEL before answer)
	EndRemoteHangup               // the peer sent BYE
	EndRejected                   // a final non-2xx to our INVITE, or we rejected an incoming call
	EndCallerCancelled            // the caller sent a plain CANCEL (gave up)
	EndAnsweredElsewhere          // CANCEL with Reason: SIP;cause=200
	EndTimeout                    // no answer or no final response in time
	EndMediaTimeout               // the RTP watchdog hung up
	EndFailed                     // transport, SDP or internal failure
	EndTransferred                // our leg ended because a transfer completed
)

func (c EndCause) String() string {
	switch c {
	case EndLocalHangup:
		return "local-hangup"
	case EndRemoteHangup:
		return "remote-hangup"
	case EndRejected:
		return "rejected"
	case EndCallerCancelled:
		return "caller-cancelled"
	case EndAnsweredElsewhere:
		return "answered-elsewhere"
	case EndTimeout:
		return "timeout"
	case EndMediaTimeout:
		return "media-timeout"
	case EndFailed:
		return "failed"
	case EndTransferred:
		return "transferred"
	default:
		return "unknown"
	}
}

// EndInfo records how a call ended.
type EndInfo struct {
	Cause  EndCause `json:"cause"`
	Code   int      `json:"code,omitempty"`   // SIP status code, when one decided the outcome
	Reason string   `json:"reason,omitempty"` // SIP reason phrase
	Q850   int      `json:"q850,omitempty"`   // Q.850 cause from a Reason header, 0 if none
	Text   string   `json:"text,omitempty"`   // Reason header text, or an error message
	// Note says what else decided the end: a redirect not followed (loop,
	// limit, refused by the gate).
	Note string `json:"note,omitempty"`
	// Diagnostic is the ms-diagnostics(-public) of the final response or
	// the BYE that ended the call (Lync / Skype for Business).
	Diagnostic Diagnostic `json:"ms_diagnostics,omitzero"`
}

// CallInfo is the full value of a call at one moment. Events carry it whole.
type CallInfo struct {
	ID        CallID `json:"id"`
	SIPCallID string `json:"sip_call_id,omitempty"`
	// SIPFromTag is the From tag of an incoming call's INVITE: with the
	// Call-ID it tells apart calls a forking proxy or a B2BUA sends with
	// one Call-ID (RFC 3261 §12: the dialog is Call-ID plus both tags).
	// Outgoing calls leave it empty: their Call-ID is ours and unique.
	SIPFromTag string `json:"sip_from_tag,omitempty"`
	// SIPToTag is our own tag on an incoming call (its 1xx and 2xx To
	// tag): with SIPFromTag what a colleague's pickup names in Replaces
	// (RFC 3891, RFC 4235 §4).
	SIPToTag string `json:"sip_to_tag,omitempty"`
	// RemoteTarget is the Contact URI of an incoming call's INVITE: where
	// a colleague's pickup sends its INVITE with Replaces (the remote
	// target of RFC 4235 §4.1.6.2), which the From URI need not reach.
	RemoteTarget string    `json:"remote_target,omitempty"`
	Direction    Direction `json:"direction"`
	State        CallState `json:"state"`
	// Device is the device that carries a call placed or taken through
	// AnyDevice (mobile, home, ...; while a follow-me call rings, the
	// devices ringing, joined by "+"). Empty: this phone.
	Device string `json:"device,omitempty"`
	Local  Party  `json:"local"`
	Remote Party  `json:"remote"`
	Codec  string `json:"codec,omitempty"`
	// SRTP is the SDES crypto-suite that protects the media
	// (AES_CM_128_HMAC_SHA1_80 or _32); empty: RTP in clear.
	SRTP       string `json:"srtp,omitempty"`
	LocalHold  bool   `json:"local_hold,omitempty"`
	RemoteHold bool   `json:"remote_hold,omitempty"`
	Muted      bool   `json:"muted,omitempty"`
	// HoldDialect is the form of our hold (LocalHold), including a call
	// dialled on hold: the dialect the peer finally accepted.
	HoldDialect HoldDialect `json:"hold_dialect,omitempty"`
	// ReferredBy is the Referred-By of a call we placed because the peer
	// of TransferredFrom asked us to (RFC 3515, RFC 3892).
	ReferredBy      string `json:"referred_by,omitempty"`
	TransferredFrom CallID `json:"transferred_from,omitempty"`
	// Replaced is the call this one replaced (INVITE with Replaces,
	// RFC 3891).
	Replaced CallID `json:"replaced,omitempty"`
	// Conference is the other call mixed with this one (Phone.Conference).
	Conference CallID `json:"conference,omitempty"`
	// Screen is how an incoming call alerts (ring, wait, silent) or why it
	// never rang (reject, redirect); Rule names the rule that decided.
	Screen ScreenAction `json:"screen,omitempty"`
	Rule   string       `json:"rule,omitempty"`
	// Headers of interest from the initial INVITE (History-Info, Diversion,
	// Referred-By, P-Asserted-Identity, Reason), raw values in order.
	// Read-only: copies of a CallInfo share it.
	Headers map[string][]string `json:"headers,omitempty"`
	// Redirects are the 3xx responses an outgoing call followed, in order
	// (Config.FollowRedirects); Remote is then the last target called.
	// Read-only: copies of a CallInfo share it.
	Redirects []Redirect `json:"redirects,omitempty"`
	Created   time.Time  `json:"created"`
	Answered  time.Time  `json:"answered,omitzero"`
	Ended     time.Time  `json:"ended,omitzero"`
	End       *EndInfo   `json:"end,omitempty"`
}

// RegState is the state of one registration binding.
type RegState int

const (
	RegUnregistered RegState = iota
	RegRegistering
	RegRegistered
	RegRetrying // a refresh or the first attempt failed; waiting to retry
	RegFailed   // gave up (e.g. bad credentials)
)

func (s RegState) String() string {
	switch s {
	case RegRegistering:
		return "registering"
	case RegRegistered:
		return "registered"
	case RegRetrying:
		return "retrying"
	case RegFailed:
		return "failed"
	default:
		return "unregistered"
	}
}

// RegInfo is the full value of a registration at one moment.
type RegInfo struct {
	AOR       string    `json:"aor"`
	Registrar string    `json:"registrar"`
	State     RegState  `json:"state"`
	Expires   time.Time `json:"expires,omitzero"` // when the granted binding lapses
	NextTry   time.Time `json:"next_try,omitzero"`
	Code      int       `json:"code,omitempty"` // last SIP status, 0 on transport error
	Err       string    `json:"err,omitempty"`
}

// CallStatus is the part of a CallInfo that counting calls needs.
type CallStatus struct {
	ID        CallID
	State     CallState
	LocalHold bool
}

// Dialog is a SIP dialog no call owns (a REGISTER, OPTIONS or SUBSCRIBE,
// an INVITE before its call is made) whose messages the phone keeps: its
// ladder is read by its SIP Call-ID.
type Dialog struct {
	SIPCallID string    `json:"sip_call_id"`
	Method    string    `json:"method"`   // of its first request ("REGISTER")
	Peer      string    `json:"peer"`     // the address of its first message's peer
	Messages  int       `json:"messages"` // how many are kept
	Last      time.Time `json:"last"`     // when the newest was sent or received
}

// SIPMessage is one SIP message sent or received on a call, for the ladder
// view and the trace file.
type SIPMessage struct {
	Time     time.Time `json:"time"`
	Sent     bool      `json:"sent"`      // true: we sent it
	Local    string    `json:"local"`     // our address
	Remote   string    `json:"remote"`    // the peer's address
	Summary  string    `json:"summary"`   // "INVITE", "180 Ringing", ...
	CSeq     string    `json:"cseq"`      // "1 INVITE"
	Raw      string    `json:"raw"`       // the whole message
	Protocol string    `json:"transport"` // udp, tcp, tls
}
