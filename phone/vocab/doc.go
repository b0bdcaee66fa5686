// Package vocab is the call vocabulary of anyphone: the words every layer
// uses to talk about calls, with no SIP stack behind them.
//
// It owns call identity and value (CallID, CallInfo, CallStatus, Party,
// Direction), the call states (CallState; the transition function stays with
// the calls, in phone), how a call ended (EndInfo, EndCause, RejectedError)
// with the one Q.850 ↔ SIP table of the project and the Reason header
// (RFC 3326), registration states (RegState, RegInfo), screening decisions
// (Screening), the hold dialects and their parser (HoldDialect), the
// classification of secondary calls from History-Info and Diversion
// (ClassifySecondary, RFC 7044, RFC 5806), the E.164 check, and Secret, a
// credential that never prints.
//
// vocab imports the standard library only (deps_test.go checks it), so the
// packages that only talk about calls (cti/busy, cti/journal) depend on
// words, not on sipgo, diago or pion. phone re-exports every name here
// (phone.CallInfo is vocab.CallInfo), so code built on phone may use either.
package vocab
