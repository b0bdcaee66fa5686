// Package soak holds the long-running survival test of the phone: thousands
// of mixed calls (answer, reject, cancel, hold/resume, blind transfer)
// between in-process phones on loopback, after which goroutines, open files
// and the live heap must be back at their baseline. It has no library code;
// see soak_test.go and docs/hardening.md.
//
// ANYPHONE_SOAK_CALLS sets the number of calls (default 1,000, what
// `go test ./...` runs; `make soak` runs 10,000). ANYPHONE_SOAK_RATE caps the
// rate in calls per second (default: half the clean rate, measured flat out
// over 100 calls before the soak).
// ANYPHONE_SOAK_FULLWAIT, if set, waits a further 40 s after the resources
// came back within tolerance and checks again (to see the true steady state
// once every SIP transaction timer has fired).
package soak
