package ctl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/anyphone/anyphone/cti/api"
)

// MaxLine is the largest command accepted, in bytes (one JSON line or one
// WebSocket message). A longer stdio line gets a bad_request response and
// the stream goes on; a longer WebSocket message closes that connection
// with status 1009 (message too big).
const MaxLine = 64 << 10

// Request is one command: {"id":"7","cmd":"dial","args":{"to":"sip:bob@host"}}.
// ID is any JSON value the client chooses (a string or a number); the
// response echoes it verbatim. Args is an object; absent means {}.
type Request struct {
	ID   json.RawMessage `json:"id,omitempty"`
	Cmd  string          `json:"cmd"`
	Args json.RawMessage `json:"args,omitempty"`
}

// Response answers one Request: {"id":"7","ok":true,"result":{...}} or
// {"id":"7","ok":false,"error":{"code":"no_such_call","message":"..."}}.
// Result is omitted for commands that return nothing.
type Response struct {
	ID     json.RawMessage `json:"id,omitempty"`
	OK     bool            `json:"ok"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// Event is a decoded event as a client sees it: its name, its time and the
// whole JSON object, for Decode into a struct of the caller's choosing.
type Event struct {
	Name string
	Time time.Time
	Raw  json.RawMessage
}

// Decode unmarshals the whole event object into v.
func (e Event) Decode(v any) error { return json.Unmarshal(e.Raw, v) }

// DecodeCommand parses one command line. It never panics; every failure is
// a *Error with code bad_request. The returned Request carries the id even
// when a later check fails, so the error response can echo it.
func DecodeCommand(line []byte) (Request, error) {
	var req Request
	line = bytes.TrimSpace(line)
	if len(line) > MaxLine {
		return req, badRequest("%v: %d bytes, limit %d", ErrLineTooLong, len(line), MaxLine)
	}
	if len(line) == 0 || line[0] != '{' {
		return req, badRequest("a command is a JSON object")
	}
	if err := strictUnmarshal(line, &req); err != nil {
		// Salvage the id for the error response if the object is valid
		// except for the types of its fields.
		var probe struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(line, &probe) == nil && validID(probe.ID) {
			req.ID = probe.ID
		} else {
			req.ID = nil
		}
		return req, badRequest("not a command: %v", err)
	}
	if !validID(req.ID) {
		req.ID = nil
		return req, badRequest("id must be a string or a number")
	}
	if req.Cmd == "" {
		return req, badRequest("missing cmd")
	}
	if a := bytes.TrimSpace(req.Args); len(a) > 0 && a[0] != '{' && !bytes.Equal(a, []byte("null")) {
		return req, badRequest("args must be an object")
	}
	return req, nil
}

// strictUnmarshal decodes exactly one JSON value into v, refusing unknown
// object keys and trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// validID accepts an absent id, a string or a number.
func validID(id json.RawMessage) bool {
	id = bytes.TrimSpace(id)
	if len(id) == 0 || bytes.Equal(id, []byte("null")) {
		return true
	}
	switch c := id[0]; {
	case c == '"', c == '-', c >= '0' && c <= '9':
		return true
	}
	return false
}

// EncodeEvent builds one event object: "event" and "time" first, then the
// members of fields, which must marshal to a JSON object (a struct, a map or
// nil). Frontends use it for events of their own, such as the endpoint's
// "ready" and "summary"; fields must not use the keys "event" or "time".
func EncodeEvent(name string, t time.Time, fields any) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"event":`)
	n, err := json.Marshal(name)
	if err != nil {
		return nil, err
	}
	buf.Write(n)
	buf.WriteString(`,"time":`)
	ts, err := json.Marshal(t.Format(time.RFC3339Nano))
	if err != nil {
		return nil, err
	}
	buf.Write(ts)
	if fields != nil {
		body, err := json.Marshal(fields)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", name, err)
		}
		body = bytes.TrimSpace(body)
		if bytes.Equal(body, []byte("null")) {
			body = []byte("{}")
		}
		if len(body) < 2 || body[0] != '{' {
			return nil, fmt.Errorf("event %s: fields must be a JSON object", name)
		}
		if inner := bytes.TrimSpace(body[1 : len(body)-1]); len(inner) > 0 {
			buf.WriteByte(',')
			buf.Write(inner)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// Event names of the cti events.
const (
	EventCall         = "call"
	EventDTMF         = "dtmf"
	EventMediaTimeout = "media_timeout"
	EventRegistration = "registration"
	EventMWI          = "mwi"
	EventNotice       = "notice"
	EventLagged       = "lagged"

	EventTransferProgress = "transfer_progress"
	EventReferReceived    = "refer_received"
	EventInitialHold      = "initial_hold_result"
	EventPolicyDecision   = "policy_decision"
	EventPolicyChanged    = "policy_changed"
	EventJournalChanged   = "journal_changed"
	EventCallbackPlaced   = "callback_placed"
	EventDevicesChanged   = "devices_changed"
	EventRedirected       = "redirected"
	EventRequestOutcome   = "request_outcome"
)

// wireNotice is a notice on the wire (api.Notice has no JSON tags).
type wireNotice struct {
	Level api.NoticeLevel `json:"level"`
	Text  string          `json:"text"`
}

// MarshalEvent encodes a cti event at time t. It returns ErrUnknownEvent for
// a type it does not know (the set is closed; this guards additions).
func MarshalEvent(ev api.Event, t time.Time) ([]byte, error) {
	switch e := ev.(type) {
	case api.CallChanged:
		return EncodeEvent(EventCall, t, struct {
			Call api.CallInfo `json:"call"`
		}{e.Call})
	case api.DTMFReceived:
		return EncodeEvent(EventDTMF, t, struct {
			CallID api.CallID `json:"call_id"`
			Digit  string     `json:"digit"`
		}{e.CallID, e.Digit})
	case api.MediaTimeout:
		return EncodeEvent(EventMediaTimeout, t, struct {
			CallID  api.CallID `json:"call_id"`
			Seconds float64    `json:"seconds"`
		}{e.CallID, e.Seconds})
	case api.RegistrationChanged:
		return EncodeEvent(EventRegistration, t, struct {
			Reg api.RegInfo `json:"registration"`
		}{e.Reg})
	case api.MessageWaiting:
		return EncodeEvent(EventMWI, t, struct {
			MWI api.MessageSummary `json:"mwi"`
		}{e.MWI})
	case api.Notice:
		return EncodeEvent(EventNotice, t, wireNotice{e.Level, e.Text})
	case api.Lagged:
		return EncodeEvent(EventLagged, t, struct {
			Dropped int `json:"dropped"`
		}{e.Dropped})
	case api.TransferProgress:
		return EncodeEvent(EventTransferProgress, t, struct {
			CallID api.CallID `json:"call_id"`
			Target string     `json:"target"`
			Code   int        `json:"code,omitempty"`
			Reason string     `json:"reason,omitempty"`
			Final  bool       `json:"final"`
			OK     bool       `json:"ok"`
		}{e.CallID, e.Target, e.Code, e.Reason, e.Final, e.OK})
	case api.ReferReceived:
		return EncodeEvent(EventReferReceived, t, struct {
			CallID     api.CallID `json:"call_id"`
			ReferredBy string     `json:"referred_by,omitempty"`
			Target     string     `json:"target"`
			Replaces   bool       `json:"replaces"`
			Pending    bool       `json:"pending"`
			Accepted   bool       `json:"accepted"`
		}{e.CallID, e.ReferredBy, e.Target, e.Replaces, e.Pending, e.Accepted})
	case api.RequestOutcome:
		return EncodeEvent(EventRequestOutcome, t, struct {
			CallID  api.CallID `json:"call_id,omitempty"`
			Method  string     `json:"method"`
			Peer    string     `json:"peer"`
			Outcome string     `json:"outcome"`
			Code    int        `json:"code,omitempty"`
			Reason  string     `json:"reason,omitempty"`
			Seconds float64    `json:"seconds"`
			Text    string     `json:"text"`
		}{e.CallID, e.Method, e.Peer, e.Outcome, e.Code, e.Reason, e.Seconds, e.Text})
	case api.Redirected:
		return EncodeEvent(EventRedirected, t, struct {
			CallID api.CallID `json:"call_id"`
			Hop    int        `json:"hop"`
			api.Redirect
		}{e.CallID, e.Hop, e.Redirect})
	case api.InitialHoldResult:
		return EncodeEvent(EventInitialHold, t, struct {
			CallID  api.CallID        `json:"call_id"`
			Dialect api.HoldDialect   `json:"dialect"`
			Tried   []api.HoldDialect `json:"tried"`
			OK      bool              `json:"ok"`
		}{e.CallID, e.Dialect, e.Tried, e.OK})
	case api.PolicyDecision:
		return EncodeEvent(EventPolicyDecision, t, struct {
			CallID        api.CallID `json:"call_id"`
			Decision      any        `json:"decision"`
			Secondary     any        `json:"secondary"`
			NoAnswerAfter float64    `json:"no_answer_after_seconds,omitempty"`
			NoAnswer      any        `json:"no_answer,omitempty"`
		}{e.CallID, e.Decision, e.Secondary, e.NoAnswerAfter.Seconds(), nilIfNil(e.NoAnswer)})
	case api.PolicyChanged:
		return EncodeEvent(EventPolicyChanged, t, struct {
			Policy any `json:"policy"`
		}{e.Policy})
	case api.JournalChanged:
		return EncodeEvent(EventJournalChanged, t, struct {
			Entry        any `json:"entry"`
			UnreadMissed int `json:"unread_missed"`
		}{e.Entry, e.UnreadMissed})
	case api.CallbackPlaced:
		return EncodeEvent(EventCallbackPlaced, t, struct {
			To      string `json:"to"`
			Device  string `json:"device"`
			Session string `json:"session_id"`
		}{e.To, e.Device, e.Session})
	case api.DevicesChanged:
		return EncodeEvent(EventDevicesChanged, t, devicesResult{Active: e.Active, Devices: e.Devices})
	case api.PresenceChanged:
		return EncodeEvent(EventPresence, t, watchResult{e.Watch})
	case api.OwnPresenceChanged:
		return EncodeEvent(EventOwnPresence, t, struct {
			Presence api.PresenceInfo `json:"presence"`
		}{e.Info})
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnknownEvent, ev)
	}
}

// nilIfNil turns a typed nil pointer into an untyped nil so omitempty drops it.
func nilIfNil[T any](p *T) any {
	if p == nil {
		return nil
	}
	return p
}

// decodeMessage tells an event from a response in what a server sent.
func decodeMessage(b []byte) (ev *Event, resp *Response, err error) {
	var probe struct {
		Event *string `json:"event"`
		Time  string  `json:"time"`
	}
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, nil, err
	}
	if probe.Event != nil {
		e := &Event{Name: *probe.Event, Raw: append(json.RawMessage(nil), b...)}
		e.Time, _ = time.Parse(time.RFC3339Nano, probe.Time)
		return e, nil, nil
	}
	var r Response
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, nil, err
	}
	return nil, &r, nil
}
