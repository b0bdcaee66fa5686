package phone

// RFC 4235 dialog-info+xml: what a NOTIFY (or PUBLISH) for the "dialog"
// event package carries. Encoded and decoded with encoding/xml; decoding
// is bounded and checks what it keeps.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/anyphone/anyphone/phone/vocab"
)

// DialogInfoType is the Content-Type of a dialog-info document.
const DialogInfoType = "application/dialog-info+xml"

// maxDialogInfo bounds a dialog-info body we parse (a busy lamp needs a
// few dialogs, not megabytes).
const maxDialogInfo = 64 << 10

type xmlDialogInfo struct {
	XMLName xml.Name    `xml:"urn:ietf:params:xml:ns:dialog-info dialog-info"`
	Version uint64      `xml:"version,attr"`
	State   string      `xml:"state,attr"` // full or partial
	Entity  string      `xml:"entity,attr"`
	Dialogs []xmlDialog `xml:"dialog"`
}

type xmlDialog struct {
	ID        string       `xml:"id,attr"`
	CallID    string       `xml:"call-id,attr,omitempty"`
	LocalTag  string       `xml:"local-tag,attr,omitempty"`
	RemoteTag string       `xml:"remote-tag,attr,omitempty"`
	Direction string       `xml:"direction,attr,omitempty"`
	State     string       `xml:"state"`
	Local     *xmlParticip `xml:"local,omitempty"`
	Remote    *xmlParticip `xml:"remote,omitempty"`
}

type xmlParticip struct {
	Identity *xmlIdentity `xml:"identity,omitempty"`
	Target   *xmlTarget   `xml:"target,omitempty"`
}

type xmlIdentity struct {
	Display string `xml:"display,attr,omitempty"`
	URI     string `xml:",chardata"`
}

type xmlTarget struct {
	URI    string     `xml:"uri,attr"`
	Params []xmlParam `xml:"param,omitempty"`
}

// xmlParam is a target's parameter (RFC 4235 §4.1.6.3); we name the
// AnyDevice device carrying the dialog with pname "device".
type xmlParam struct {
	Name  string `xml:"pname,attr"`
	Value string `xml:"pval,attr"`
}

// Local target parameters (RFC 4235 §4.1.6.3): paramDevice names the
// device (mobile, home); paramRendering "no" is a call the user holds
// (RFC 3840 §9: +sip.rendering); paramFocus a call in the conference the
// user hosts (RFC 3840 §9, RFC 4579: isfocus).
const (
	paramDevice    = "device"
	paramRendering = "+sip.rendering"
	paramFocus     = "isfocus"
)

// direction attribute values (RFC 4235 §4.1.2).
const (
	dirInitiator = "initiator"
	dirRecipient = "recipient"
)

// MarshalDialogInfo renders info as a full-state dialog-info document with
// this version (RFC 4235 §4.1).
func MarshalDialogInfo(info vocab.PresenceInfo, version uint64) ([]byte, error) {
	doc := xmlDialogInfo{Version: version, State: "full", Entity: info.Entity}
	for _, d := range info.Dialogs {
		x := xmlDialog{ID: d.ID, CallID: d.CallID, LocalTag: d.LocalTag, RemoteTag: d.RemoteTag, State: d.State.String()}
		switch d.Direction {
		case vocab.Outgoing:
			x.Direction = dirInitiator
		case vocab.Incoming:
			x.Direction = dirRecipient
		}
		if d.Local.URI != "" {
			x.Local = &xmlParticip{Identity: &xmlIdentity{Display: d.Local.DisplayName, URI: d.Local.URI}}
			var params []xmlParam
			if d.Device != "" {
				params = append(params, xmlParam{Name: paramDevice, Value: d.Device})
			}
			if d.Held {
				params = append(params, xmlParam{Name: paramRendering, Value: "no"})
			}
			if d.Conference {
				params = append(params, xmlParam{Name: paramFocus, Value: "true"})
			}
			if params != nil {
				x.Local.Target = &xmlTarget{URI: d.Local.URI, Params: params}
			}
		}
		if d.Remote.URI != "" {
			target := d.Remote.URI
			if d.RemoteTarget != "" {
				target = d.RemoteTarget
			}
			x.Remote = &xmlParticip{Identity: &xmlIdentity{Display: d.Remote.DisplayName, URI: d.Remote.URI}, Target: &xmlTarget{URI: target}}
		}
		doc.Dialogs = append(doc.Dialogs, x)
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dialog-info: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// DialogInfoError says why a dialog-info body was refused.
type DialogInfoError struct{ Why string }

func (e *DialogInfoError) Error() string { return "dialog-info: " + e.Why }

// ParseDialogInfo decodes a dialog-info document. It returns the entity,
// the version, whether it is full state, and the dialogs; a body that is
// too large, not dialog-info, or has a dialog without id or with an
// unknown state is a *DialogInfoError.
func ParseDialogInfo(body []byte) (info vocab.PresenceInfo, version uint64, full bool, err error) {
	if len(body) > maxDialogInfo {
		return info, 0, false, &DialogInfoError{Why: "body over " + strconv.Itoa(maxDialogInfo) + " bytes"}
	}
	var doc xmlDialogInfo
	dec := xml.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil {
		return info, 0, false, &DialogInfoError{Why: clip(err.Error(), 120)}
	}
	info.Entity = strings.TrimSpace(doc.Entity)
	if info.Entity == "" {
		return info, 0, false, &DialogInfoError{Why: "no entity"}
	}
	for i, x := range doc.Dialogs {
		st, ok := vocab.ParseDialogPhase(strings.TrimSpace(x.State))
		if !ok {
			return info, 0, false, &DialogInfoError{Why: fmt.Sprintf("dialog %d: state %q", i, clip(x.State, 20))}
		}
		if x.ID == "" {
			return info, 0, false, &DialogInfoError{Why: fmt.Sprintf("dialog %d: no id", i)}
		}
		d := vocab.DialogState{ID: x.ID, CallID: x.CallID, LocalTag: x.LocalTag, RemoteTag: x.RemoteTag, State: st}
		switch x.Direction {
		case dirInitiator:
			d.Direction = vocab.Outgoing
		case dirRecipient:
			d.Direction = vocab.Incoming
		}
		if x.Local != nil && x.Local.Identity != nil {
			d.Local = vocab.Party{DisplayName: x.Local.Identity.Display, URI: strings.TrimSpace(x.Local.Identity.URI)}
		}
		if x.Local != nil && x.Local.Target != nil {
			for _, p := range x.Local.Target.Params {
				switch strings.ToLower(p.Name) {
				case paramDevice:
					if len(p.Value) <= 32 {
						d.Device = p.Value
					}
				case paramRendering:
					d.Held = strings.EqualFold(strings.Trim(p.Value, `"`), "no")
				case paramFocus:
					d.Conference = !strings.EqualFold(p.Value, "false")
				}
			}
		}
		if x.Remote != nil {
			if x.Remote.Identity != nil {
				d.Remote = vocab.Party{DisplayName: x.Remote.Identity.Display, URI: strings.TrimSpace(x.Remote.Identity.URI)}
			}
			if x.Remote.Target != nil {
				t := strings.TrimSpace(x.Remote.Target.URI)
				if d.Remote.URI == "" {
					d.Remote = vocab.Party{URI: t}
				} else if t != d.Remote.URI && len(t) <= 256 {
					d.RemoteTarget = t
				}
			}
		}
		info.Dialogs = append(info.Dialogs, d)
	}
	return info, doc.Version, doc.State != "partial", nil
}
