package api

import "github.com/anyphone/anyphone/phone/vocab"

// Redirect is one 3xx a call we placed followed.
type Redirect = vocab.Redirect

// Redirected reports that a call we placed got a 3xx and now calls To
// (RFC 3261 §8.1.3.4); the call's Remote becomes To and its Redirects
// list every hop. Hop counts from 1.
type Redirected struct {
	CallID CallID
	Hop    int
	Redirect
}

func (Redirected) ctiEvent() {}
