// Package sipguard is phone's guard in front of sipgo: what sipgo and diago
// would mishandle is answered or refused here, before they see it.
//
//   - Conn sits between the UDP socket and sipgo's transport. sipgo drops
//     every datagram its parser refuses without an answer (LIBRARIES.md §4.4);
//     Conn answers those requests statelessly (RFC 3261 §18.3, RFC 4475),
//     brackets IPv6 sent-by values sipgo writes back unbracketed (RFC 5118),
//     serves RFC 2543 requests sipgo cannot key a transaction on, and lets
//     well-formed datagrams through on an allocation-free fast path
//     (guardfast.go, checked against sipgo's parser by FuzzGuardFastPath).
//   - Shedder refuses new INVITEs with 503 while datagrams wait too long in
//     the socket or run queue (RFC 6357), before sipgo parses anything.
//   - ValidateRequest is RFC 3261 §8.2 for a parsed request; phone's
//     middleware (the one seam, phone/middleware.go) runs it on every
//     transport. AddrAllowed is the source ACL's address check.
//
// The fuzz targets (FuzzGuard, FuzzGuardFastPath) and the RFC 4475/5118
// torture messages live in testdata beside them; phone's torture tests send
// the same messages to a running phone.
package sipguard
