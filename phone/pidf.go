package phone

// RFC 3863 PIDF with RFC 4480 RPID activities: the "presence" event
// package, for peers that want a basic status rather than dialogs
// (RFC 3856). Dialog-info has no element for do-not-disturb; PIDF has:
// DND is <basic>closed</basic> with the activity busy and a note; on the
// phone is open with on-the-phone; otherwise open.

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/anyphone/anyphone/phone/vocab"
)

// PIDFType is the Content-Type of a PIDF document.
const PIDFType = "application/pidf+xml"

// presenceEvent is the RFC 3856 event package.
const presenceEvent = "presence"

// noteDND is the note a DND document carries.
const noteDND = "do not disturb"

type xmlPIDF struct {
	XMLName xml.Name    `xml:"urn:ietf:params:xml:ns:pidf presence"`
	Entity  string      `xml:"entity,attr"`
	Tuples  []xmlTuple  `xml:"tuple"`
	Persons []xmlPerson `xml:"urn:ietf:params:xml:ns:pidf:data-model person"`
	Notes   []string    `xml:"note"`
}

type xmlTuple struct {
	ID      string `xml:"id,attr"`
	Basic   string `xml:"status>basic"`
	Note    string `xml:"note,omitempty"`
	Contact string `xml:"contact,omitempty"`
}

type xmlPerson struct {
	ID         string         `xml:"id,attr"`
	Activities *xmlActivities `xml:"urn:ietf:params:xml:ns:pidf:rpid activities"`
	Note       string         `xml:"urn:ietf:params:xml:ns:pidf:data-model note,omitempty"`
}

type xmlActivities struct {
	Busy       *struct{} `xml:"urn:ietf:params:xml:ns:pidf:rpid busy"`
	OnThePhone *struct{} `xml:"urn:ietf:params:xml:ns:pidf:rpid on-the-phone"`
}

// MarshalPIDF renders info as a PIDF document: basic open, or closed under
// DND; an RPID activity busy (DND) or on-the-phone (a confirmed dialog).
func MarshalPIDF(info vocab.PresenceInfo) ([]byte, error) {
	basic, note := "open", ""
	var act *xmlActivities
	switch {
	case info.DND:
		basic, note = "closed", noteDND
		act = &xmlActivities{Busy: &struct{}{}}
	case info.Busy() == "on the phone":
		note = "on the phone"
		act = &xmlActivities{OnThePhone: &struct{}{}}
	}
	doc := xmlPIDF{Entity: info.Entity, Tuples: []xmlTuple{{ID: "t1", Basic: basic, Note: note, Contact: info.Entity}}}
	if act != nil {
		doc.Persons = []xmlPerson{{ID: "p1", Activities: act, Note: note}}
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("pidf: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// PIDFStatus is what we read from a PIDF document.
type PIDFStatus struct {
	Entity string
	Open   bool // some tuple's basic status is open
	DND    bool // closed everywhere, or the RPID activity busy
	Note   string
}

// ParsePIDF decodes a PIDF document; bounded like dialog-info.
func ParsePIDF(body []byte) (PIDFStatus, error) {
	var st PIDFStatus
	if len(body) > maxDialogInfo {
		return st, &DialogInfoError{Why: "pidf body over " + strconv.Itoa(maxDialogInfo) + " bytes"}
	}
	var doc xmlPIDF
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&doc); err != nil {
		return st, &DialogInfoError{Why: "pidf: " + clip(err.Error(), 120)}
	}
	st.Entity = strings.TrimSpace(doc.Entity)
	closed := len(doc.Tuples) > 0
	for _, t := range doc.Tuples {
		if strings.EqualFold(strings.TrimSpace(t.Basic), "open") {
			st.Open, closed = true, false
		}
		if st.Note == "" {
			st.Note = clip(strings.TrimSpace(t.Note), 80)
		}
	}
	busy := false
	for _, p := range doc.Persons {
		if p.Activities != nil && p.Activities.Busy != nil {
			busy = true
		}
		if p.Note != "" {
			st.Note = clip(strings.TrimSpace(p.Note), 80)
		}
	}
	st.DND = closed || busy
	return st, nil
}
