package sipguard

import "testing"

// benchInvite is a plain INVITE as every user agent sends it.
var benchInvite = []byte("INVITE sip:bob@127.0.0.1:5060 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-524287-1---a1b2c3d4;rport\r\n" +
	"Max-Forwards: 70\r\n" +
	"Contact: <sip:alice@127.0.0.1:5070>\r\n" +
	"To: <sip:bob@127.0.0.1:5060>\r\n" +
	"From: \"Alice\" <sip:alice@127.0.0.1:5070>;tag=9fxced76sl\r\n" +
	"Call-ID: 3848276298220188511@127.0.0.1\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Content-Type: application/sdp\r\n" +
	"Content-Length: 0\r\n\r\n")

// BenchmarkWellFormed is the UDP guard's fast path on a plain INVITE.
func BenchmarkWellFormed(b *testing.B) {
	if !wellFormed(benchInvite) {
		b.Fatal("benchInvite is not well formed")
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = wellFormed(benchInvite)
	}
}
