package busy

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/anyphone/anyphone/phone/vocab"
)

// No-answer timeout bounds, in seconds. There is deliberately no 60-second
// cap (Lync's limit): a team may want to ring for minutes.
const (
	DefaultNoAnswerSeconds = 20
	MaxNoAnswerSeconds     = 300
)

// Policy is the user's busy handling. The zero value is call waiting:
// a second call is signalled with a cue, nobody is rejected, there is no
// voicemail and the no-answer timeout is 20 s with a 480 answer.
//
// Policy is a plain value: copy it freely. Decide does not modify it.
type Policy struct {
	// OnBusy is what happens to a primary call while another call is up.
	// Unset means Wait. Voicemail needs VoicemailURI.
	OnBusy Action `toml:"on_busy" json:"on_busy,omitempty"`
	// InConference, when set, replaces OnBusy while we are in a conference
	// (the caller may be the participant who cannot dial in, so a user may
	// want call waiting there even with busy-on-busy elsewhere).
	InConference Action `toml:"in_conference" json:"in_conference,omitempty"`
	// Secondary is what happens to a secondary call (team call, delegate,
	// forwarding, response group, transfer) while busy. Unset means Wait.
	// Secondary calls never go to voicemail unless this is set to Voicemail:
	// wherever another rule would send one there it gets Unavailable.
	Secondary Action `toml:"secondary" json:"secondary,omitempty"`
	// CountSetupAsBusy makes ringing-in and dialling-out calls count as
	// busy, not only active, held and conference calls.
	CountSetupAsBusy bool `toml:"count_setup_as_busy" json:"count_setup_as_busy,omitempty"`

	// DND (do not disturb) applies DNDAction to every call, busy or not,
	// except VIP callers and while an Override is active.
	DND bool `toml:"dnd" json:"dnd,omitempty"`
	// DNDAction is what DND does: Unset means Voicemail when VoicemailURI
	// is set, Unavailable otherwise.
	DNDAction Action `toml:"dnd_action" json:"dnd_action,omitempty"`

	// VoicemailURI is where Voicemail redirects (the 302 Contact), e.g.
	// sip:voicemail@example.org. Required by any field set to Voicemail.
	VoicemailURI string `toml:"voicemail_uri" json:"voicemail_uri,omitempty"`

	// VIP callers always get through (call waiting while busy, ringing
	// under DND). Each entry is a SIP URI ("sip:boss@example.org",
	// "boss@example.org"), a phone number in any usual notation
	// ("+49 30 1234-5", "030 12345" with Region DE) compared after E.164
	// normalisation, or a glob pattern (*, ?, [..]) matched against the
	// caller's URI and E.164 number ("+4930*", "sip:*@example.org").
	VIP []string `toml:"vip" json:"vip,omitempty"`
	// Region is the default region for numbers without a country code
	// (ISO 3166 code such as "DE"). Empty means only numbers in
	// international format are normalised.
	Region string `toml:"region" json:"region,omitempty"`

	// NoAnswerSeconds is how long an incoming call rings before NoAnswer
	// applies, 0 to 300. Nil means 20; 0 means at once.
	NoAnswerSeconds *int `toml:"no_answer_seconds" json:"no_answer_seconds,omitempty"`
	// NoAnswerAction is Voicemail or Unavailable (480). Unset means
	// Voicemail when VoicemailURI is set, Unavailable otherwise.
	NoAnswerAction Action `toml:"no_answer_action" json:"no_answer_action,omitempty"`

	// Override lets calls through temporarily (runtime state, not config).
	Override Override `toml:"-" json:"override,omitzero"`
}

// Override is a temporary "let calls through": while active, calls ring
// (or wait) as if the busy policy and DND were off. It lasts until Until,
// or while the call UntilCallEnds exists; with both set it ends at the
// first. The zero value is no override.
type Override struct {
	Until         time.Time    `json:"until,omitzero"`
	UntilCallEnds vocab.CallID `json:"until_call_ends,omitempty"`
}

// IsZero reports whether o is no override at all.
func (o Override) IsZero() bool { return o.Until.IsZero() && o.UntilCallEnds == "" }

// Active reports whether the override is in force at now given the calls
// that exist.
func (o Override) Active(now time.Time, sit Situation) bool {
	if o.IsZero() {
		return false
	}
	if !o.Until.IsZero() && !now.Before(o.Until) {
		return false
	}
	if o.UntilCallEnds != "" && !slices.Contains(sit.Calls, o.UntilCallEnds) {
		return false
	}
	return true
}

// Situation summarises the calls that already exist when a call comes in
// (not counting the new call).
type Situation struct {
	Active       int // answered, not held, not in a conference
	Held         int // answered and held by us
	RingingIn    int // other incoming calls still ringing
	Dialing      int // outgoing calls not yet answered
	InConference int // calls that are part of a local conference
	// Calls are the IDs of all existing calls, for Override.UntilCallEnds.
	Calls []vocab.CallID
}

// Established is the number of answered calls.
func (s Situation) Established() int { return s.Active + s.Held + s.InConference }

// Setup is the number of calls still being set up.
func (s Situation) Setup() int { return s.RingingIn + s.Dialing }

// Summarize builds a Situation from call values, leaving out the call
// exclude (the new one) and ended calls. inConference says which calls are
// in a local conference; it may be nil.
func Summarize(calls []vocab.CallInfo, exclude vocab.CallID, inConference func(vocab.CallID) bool) Situation {
	var s Situation
	for _, c := range calls {
		s.add(vocab.CallStatus{ID: c.ID, State: c.State, LocalHold: c.LocalHold}, exclude, inConference)
	}
	return s
}

// SummarizeStatus is Summarize over phone.Phone.CallStatuses, which copies
// no CallInfo (the endpoint screens every incoming call). The IDs are
// appended to ids[:0] for Situation.Calls, so a caller may reuse a buffer;
// ids may be nil.
func SummarizeStatus(ids []vocab.CallID, calls []vocab.CallStatus, exclude vocab.CallID, inConference func(vocab.CallID) bool) Situation {
	s := Situation{Calls: ids[:0]}
	for _, c := range calls {
		s.add(c, exclude, inConference)
	}
	return s
}

// add counts one call into s.
func (s *Situation) add(c vocab.CallStatus, exclude vocab.CallID, inConference func(vocab.CallID) bool) {
	if c.ID == exclude {
		return
	}
	switch c.State {
	case vocab.CallIdle, vocab.CallEnding, vocab.CallEnded:
		return
	case vocab.CallIncoming:
		s.RingingIn++
	case vocab.CallDialing, vocab.CallRinging, vocab.CallEarly:
		s.Dialing++
	case vocab.CallAnswering, vocab.CallActive:
		switch {
		case inConference != nil && inConference(c.ID):
			s.InConference++
		case c.LocalHold:
			s.Held++
		default:
			s.Active++
		}
	}
	s.Calls = append(s.Calls, c.ID)
}

// Incoming is what Decide needs to know about the new call.
type Incoming struct {
	// From is the caller: a URI or name-addr from From or
	// P-Asserted-Identity, or a bare number.
	From string
	// Called is our AOR the call is for; voicemail redirects name it in
	// Diversion and History-Info.
	Called string
	// Secondary says whether the call is a secondary call and why.
	Secondary vocab.Secondary
}

// Decision is what to do with an incoming call and why.
type Decision struct {
	Action Action `json:"action"`
	Rule   Rule   `json:"rule"`
	// Detail adds to Rule: the VIP entry that matched, the secondary kind.
	Detail string `json:"detail,omitempty"`
	// Code and Phrase are the final response for Busy, Unavailable, Decline
	// and Voicemail; 0 otherwise.
	Code   int    `json:"code,omitempty"`
	Phrase string `json:"phrase,omitempty"`
	// Reason is the Reason header value to send with a reject (RFC 6432),
	// e.g. Q.850;cause=17;text="User busy".
	Reason string `json:"reason,omitempty"`
	// Target is the 302 Contact for Voicemail: VoicemailURI with the RFC
	// 4458 target and cause parameters.
	Target string `json:"target,omitempty"`
	// Diversion and HistoryInfo are the header values to add to the 302.
	Diversion   string `json:"diversion,omitempty"`
	HistoryInfo string `json:"history_info,omitempty"`
}

// Decide applies the policy to an incoming call at now. The rules, first
// match wins:
//
//  1. no-other-call / not-busy: DND is off and we are not busy: ring.
//  2. override: an active Override lets the call through.
//  3. vip: the caller is on the VIP list: let through.
//  4. dnd: DND is on: DNDAction.
//  5. secondary: busy with a secondary call: Secondary.
//  6. busy-in-conference: busy in a conference and InConference set.
//  7. busy-policy: busy: OnBusy.
//
// "Let through" means Wait when busy, Alert otherwise. Decide assumes a
// valid policy (see Validate); an invalid action falls back to its default.
func (p *Policy) Decide(now time.Time, sit Situation, in Incoming) Decision {
	busy := sit.Established() > 0 || (p.CountSetupAsBusy && sit.Setup() > 0)
	through := func(rule Rule, detail string) Decision {
		if busy {
			return Decision{Action: Wait, Rule: rule, Detail: detail}
		}
		return Decision{Action: Alert, Rule: rule, Detail: detail}
	}
	if !p.DND && !busy {
		if sit.Setup() == 0 {
			return through(RuleNoOtherCall, "")
		}
		return through(RuleNotBusy, "")
	}
	if p.Override.Active(now, sit) {
		return through(RuleOverride, "")
	}
	if entry, ok := matchVIP(p.VIP, p.Region, in.From); ok {
		return through(RuleVIP, entry)
	}
	secondary := in.Secondary.IsSecondary()
	detail := ""
	if secondary {
		detail = in.Secondary.Kind.String()
	}
	if p.DND {
		return p.act(p.dndAction(), RuleDND, detail, in)
	}
	if secondary {
		return p.act(p.secondaryAction(), RuleSecondary, detail, in)
	}
	if sit.InConference > 0 && p.InConference != Unset {
		return p.act(p.InConference, RuleInConference, "", in)
	}
	return p.act(p.onBusy(), RuleBusy, "", in)
}

// NoAnswerTimeout is how long an incoming call rings before NoAnswer
// applies.
func (p *Policy) NoAnswerTimeout() time.Duration {
	if p.NoAnswerSeconds == nil {
		return DefaultNoAnswerSeconds * time.Second
	}
	return time.Duration(*p.NoAnswerSeconds) * time.Second
}

// NoAnswer is the decision for an incoming call that rang NoAnswerTimeout
// without being answered: voicemail or 480, per NoAnswerAction. A secondary
// call gets 480 instead of voicemail unless Secondary is Voicemail.
func (p *Policy) NoAnswer(in Incoming) Decision {
	a := p.NoAnswerAction
	if a == Unset {
		a = p.voicemailOr(Unavailable)
	}
	detail := ""
	if in.Secondary.IsSecondary() {
		detail = in.Secondary.Kind.String()
	}
	return p.act(a, RuleNoAnswer, detail, in)
}

func (p *Policy) onBusy() Action {
	if p.OnBusy == Unset {
		return Wait
	}
	return p.OnBusy
}

func (p *Policy) secondaryAction() Action {
	if p.Secondary == Unset {
		return Wait
	}
	return p.Secondary
}

func (p *Policy) dndAction() Action {
	if p.DNDAction == Unset {
		return p.voicemailOr(Unavailable)
	}
	return p.DNDAction
}

func (p *Policy) voicemailOr(a Action) Action {
	if p.VoicemailURI != "" {
		return Voicemail
	}
	return a
}

// act turns an action into a Decision with its SIP response. It keeps
// secondary calls away from voicemail unless Secondary says Voicemail, and
// falls back to Unavailable when there is no voicemail URI.
func (p *Policy) act(a Action, rule Rule, detail string, in Incoming) Decision {
	if a == Voicemail && (p.VoicemailURI == "" || (in.Secondary.IsSecondary() && p.Secondary != Voicemail)) {
		a = Unavailable
	}
	d := Decision{Action: a, Rule: rule, Detail: detail}
	switch a {
	case Busy:
		d.Code = 486
	case Unavailable:
		d.Code = 480
	case Decline:
		d.Code = 603
	case Voicemail:
		d.Code = 302
		cause := voicemailCause(rule)
		d.Target = voicemailTarget(p.VoicemailURI, in.Called, cause)
		if in.Called != "" {
			d.Diversion = fmt.Sprintf("<%s>;reason=%s;counter=1", in.Called, diversionReason(rule))
			d.HistoryInfo = fmt.Sprintf("<%s?Reason=%s>;index=1, <%s>;index=1.1;mp=1",
				in.Called, escapeHeader(vocab.ReasonHeader{Protocol: vocab.ReasonSIP, Cause: cause, Text: vocab.SIPPhrase(cause)}.String()), d.Target)
		}
	case Unset:
		d.Action = Wait
	}
	if d.Code != 0 {
		d.Phrase = vocab.SIPPhrase(d.Code)
	}
	if a != Voicemail {
		if r, ok := vocab.ReasonForSIP(d.Code); ok {
			d.Reason = r.String()
		}
	}
	return d
}

// voicemailCause is the RFC 4458 cause the voicemail server sees.
func voicemailCause(rule Rule) int {
	switch rule {
	case RuleNoAnswer:
		return 408
	case RuleDND:
		return 480
	default:
		return 486
	}
}

// diversionReason is the RFC 5806 reason for a redirect by rule.
func diversionReason(rule Rule) string {
	switch rule {
	case RuleNoAnswer:
		return "no-answer"
	case RuleDND:
		return "do-not-disturb"
	default:
		return "user-busy"
	}
}

// voicemailTarget adds the RFC 4458 target and cause parameters to the
// voicemail URI, before any URI headers.
func voicemailTarget(vm, called string, cause int) string {
	base, headers, hasHeaders := strings.Cut(vm, "?")
	if called != "" {
		base += ";target=" + escapeParam(called)
	}
	base += fmt.Sprintf(";cause=%d", cause)
	if hasHeaders {
		base += "?" + headers
	}
	return base
}

// escapeParam escapes what may not stand in a SIP URI parameter value
// (RFC 3261 §25.1 paramchar).
func escapeParam(s string) string {
	return escapeExcept(s, "-_.!~*'()[]/:&+$")
}

// escapeHeader escapes a value for a SIP URI header (RFC 3261 §25.1 hvalue).
func escapeHeader(s string) string {
	return escapeExcept(s, "-_.!~*'()[]/?:+$")
}

func escapeExcept(s, keep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// Validate checks the policy; the error is a *FieldError naming the field.
func (p *Policy) Validate() error {
	check := func(field string, a Action, allowed ...Action) error {
		if a == Unset {
			return nil
		}
		if !slices.Contains(allowed, a) {
			return &FieldError{Field: field, Value: a, Msg: "action not allowed here"}
		}
		if a == Voicemail && p.VoicemailURI == "" {
			return &FieldError{Field: field, Value: a, Msg: "voicemail needs VoicemailURI"}
		}
		return nil
	}
	answerable := []Action{Alert, Wait, Silent, Busy, Unavailable, Decline, Voicemail}
	if err := check("OnBusy", p.OnBusy, answerable...); err != nil {
		return err
	}
	if err := check("InConference", p.InConference, answerable...); err != nil {
		return err
	}
	if err := check("Secondary", p.Secondary, answerable...); err != nil {
		return err
	}
	if err := check("DNDAction", p.DNDAction, Silent, Busy, Unavailable, Decline, Voicemail); err != nil {
		return err
	}
	if err := check("NoAnswerAction", p.NoAnswerAction, Unavailable, Voicemail); err != nil {
		return err
	}
	if p.VoicemailURI != "" && !strings.Contains(p.VoicemailURI, ":") {
		return &FieldError{Field: "VoicemailURI", Value: p.VoicemailURI, Msg: "not a URI"}
	}
	if n := p.NoAnswerSeconds; n != nil && (*n < 0 || *n > MaxNoAnswerSeconds) {
		return &FieldError{Field: "NoAnswerSeconds", Value: *n, Msg: fmt.Sprintf("must be 0..%d", MaxNoAnswerSeconds)}
	}
	if p.Region != "" && phonenumbers.GetCountryCodeForRegion(strings.ToUpper(p.Region)) == 0 {
		return &FieldError{Field: "Region", Value: p.Region, Msg: "unknown region"}
	}
	for i, v := range p.VIP {
		field := fmt.Sprintf("VIP[%d]", i)
		switch vipKind(v) {
		case vipPattern:
			if _, err := path.Match(strings.ToLower(v), ""); err != nil {
				return &FieldError{Field: field, Value: v, Msg: "bad pattern"}
			}
		case vipNumber:
			if _, ok := NormalizeNumber(v, p.Region); !ok {
				return &FieldError{Field: field, Value: v, Msg: "not a phone number"}
			}
		case vipEmpty:
			return &FieldError{Field: field, Value: v, Msg: "empty"}
		}
	}
	return nil
}
