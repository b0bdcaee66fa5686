// Package busy decides what happens to an incoming call given the calls that
// already exist: ring normally, signal it as call waiting, ring silently,
// reject it busy (486, Q.850 17), unavailable (480, Q.850 18) or declined
// (603, Q.850 21), or redirect it to voicemail (302 with Diversion and
// History-Info). It owns the busy policy (busy-on-busy, do-not-disturb, VIP
// callers, secondary calls, temporary overrides, the no-answer timeout) and
// nothing else: it performs no I/O and sends no SIP. Every Decision names
// the rule that fired so events and the journal can say why.
//
// Policy.Decide is a pure function of its arguments; Engine wraps a Policy
// with an override that expires on its own timer.
//
// busy imports phone/vocab for the call data model and the header helpers
// (Q.850 table, secondary-call classification). It must not import ui, cti,
// phone, sipgo or diago, directly or through another package
// (cti/deps_test.go checks with go list -deps).
package busy
