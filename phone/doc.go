// Package phone is anyphone's SIP user agent: accounts and registration,
// calls (dial, answer, reject, hang up, CANCEL), hold in every dialect,
// blind and attended transfer (REFER, Replaces), DTMF, conference, the
// media pumps between RTP and audio, and the legs and RTP relay that
// anydevice orchestrates. It reports what happens as Events; a call's
// value is a CallInfo, whole, after each transition.
//
// # The SIP stack stays here
//
// phone alone imports sipgo, diago and pion (deps_test.go): a change in
// their APIs touches this package and nothing above it. The words the rest
// of the program uses about calls (CallInfo, CallState, EndInfo and the
// Q.850 table, HoldDialect, Secondary, Secret, ...) live in phone/vocab,
// which imports no SIP library; phone re-exports each of them
// (phone.CallInfo is vocab.CallInfo), so packages that only talk about
// calls (cti/busy, cti/journal, cti/api, ui) depend on vocab and link no
// SIP library.
//
// # Where each fence lives, and why
//
// diago v0.31.0 and sipgo v1.7.2 have defects we cannot fix upstream (no
// newer diago downloads; LIBRARIES.md §3 numbers them). phone fences them
// without a fork, through the two hooks of LIBRARIES.md §2.16:
//
//   - middleware.go is the one seam: diago's server request middleware. It
//     recovers a panic in any handler and answers 500 (sipgo and diago have
//     no recover anywhere), validates the request (validate.go), applies
//     the source ACL (acl.go), and runs every SDP body through the SDP
//     fences before diago parses it; its response hook fixes the answers
//     diago writes. The request hook of our sipgo client (the TxRequester
//     passed with diago.WithClient) does the same for what we send.
//   - phone/internal/sdpfence holds the SDP fences, pure functions that
//     never panic, with their fuzz targets and fixtures: normalising bodies
//     (defect #1, an LF-only empty line panics diago and kills the process;
//     #2, a last line without CRLF is lost), stripping extra m= lines and
//     answering them rejected (#3), translating remote holds in a=inactive or
//     c=0.0.0.0 form and telling whether we may send (#4, diago keeps sending
//     RTP), rewriting our holds into the dialect the peer wants (#9), the
//     64-bit o= sess-id and a stable o= identity (#10, RFC 3264 §8), and the
//     telephone-event payload-type remap (#18).
//   - phone/internal/sipguard is the guard in front of sipgo, with its fuzz
//     targets and the RFC 4475/5118 torture messages: Conn sits between the
//     UDP socket and sipgo, which drops what its parser refuses without an
//     answer (LIBRARIES.md §4.4), answers those requests statelessly (RFC 3261
//     §18.3, RFC 4475) and passes well-formed datagrams on an allocation-free
//     fast path; Shedder sheds new INVITEs with 503 while datagrams wait too
//     long (RFC 6357), before sipgo parses anything; ValidateRequest is RFC
//     3261 §8.2 for the middleware. validate.go wires them to the Phone (its
//     ACL, logger and Shed count).
//   - register.go replaces diago's Register, which panics on a silent
//     registrar (#11), ignores a Contact ;expires= grant, stops on one 503
//     and unregisters every binding with "Contact: *" (#12); regcheck.go
//     notices a binding the registrar lost and regkeepalive.go a registrar
//     that stopped answering (OPTIONS while registered).
//   - media.go stops our RTP while the peer's SDP forbids sending (#4) and
//     raises MediaTimeout when RTP stops (#19); relay.go hands RTP payloads
//     to anydevice's relay as they are, in place of diago's Bridge (#16);
//     transfer.go sends our own Referred-By and gives up on a REFER without
//     a final NOTIFY (#13, #14); refer.go moves Replaces out of the
//     Refer-To URI into a header (#15).
//   - codec.go turns Config.Codecs into diago's list, answers in our order
//     and Opus on the offerer's payload type (#36), and codes each call's
//     audio through audio/codec (G.711, G.722, Opus) with SpeexDSP
//     resampling between the codec's rate and Config.AudioRate.
//   - inflight.go makes every request we send fire-and-track (issue 17):
//     the request hook passes non-INVITE requests through trackRequest,
//     which bounds those awaiting an answer per peer
//     (Config.MaxInFlightPerPeer), reports each outcome as a RequestOutcome
//     and a ladder entry, and probes the peer of an unanswered request so a
//     vanished one fails as a transport error in about a second (#26);
//     bye.go ends the call before its BYE is answered, call.go endSoon ends
//     a cancelled call whatever the callee does with the CANCEL (#25), and
//     transfer.go waits at most a second for the answer to a REFER and at
//     most 500 ms for a hold the peer does not answer (beyond 100 Trying)
//     before the REFER, the consultation call, the toggle or the split
//     goes on (waitHold); reinvite.go fixAckCSeq keeps
//     the ACK of a late 2xx on its re-INVITE's CSeq (#33).
//   - trace.go installs sipgo's process-wide tracer (SIPDebugTracer, in
//     place of SIPDebug on stderr, #23) and routes each message to the phone
//     and call it belongs to, for the ladder and the trace file; it frames
//     the per-Read trace of TCP and TLS into messages (#24). The
//     middleware's immediate 100 Trying keeps sipgo's own, unstamped one
//     from firing (#30).
//
// # Events
//
// Config.Events receives every Event, in order per call. It is called with
// the call's lock held (call.go apply, phone.go emit): a handler must not
// block, and must not call back into the Phone on the same goroutine.
package phone
