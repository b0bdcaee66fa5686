// Package ctl is anyphone's control protocol: one JSON schema for commands,
// responses and events, carried as JSON lines over stdio (ServeStdio, used
// by `anyphone endpoint`) and as WebSocket text messages over the network
// (Listen, Dial), plus the Client that `anyphone ctl` uses.
//
// A command names a cti.Service method and carries its arguments; the
// Dispatcher looks the name up in one table, decodes the arguments strictly
// and maps cti errors to stable error codes. Events are cti/api events encoded
// with an "event" name and a "time". docs/control-protocol.md is the
// reference for the wire format.
//
// Security: a network Server listens on loopback unless told otherwise, and
// then only with a token that every connection must present. Tokens are
// vocab.Secret values and are never logged.
//
// ctl drives cti only through the Controller interface and speaks the words
// of cti/api; it must not import ui, cti itself, phone, anydevice, sipgo,
// diago or pion, directly or through another package (cti/deps_test.go
// checks with go list -deps).
package ctl
