// Package api holds the words of the product API: the call data (aliases
// of phone/vocab), the closed set of events a Subscription delivers,
// Snapshot, DialOptions and DialResult, the sentinel errors, and Bus, the
// fan-out that never blocks a sender. cti.Service implements the commands
// and re-exports every name here (cti.CallChanged is api.CallChanged).
//
// api links no SIP or media library (cti/deps_test.go checks it with go
// list -deps), so front ends that only speak the API (ui, cti/ctl) do not
// link sipgo, diago or pion. It must not import cti, phone or anydevice.
package api
