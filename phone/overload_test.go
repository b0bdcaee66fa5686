package phone

import (
	"context"
	"net"
	"testing"
	"time"
)

// TestProbeReachesHandler: on a running phone, the timed INVITE is noticed
// by the request handler (middleware.go), which is what ends a probe.
func TestProbeReachesHandler(t *testing.T) {
	p, err := New(Config{Name: "bob", Listen: "127.0.0.1:0", Transport: "udp", OverloadDelay: time.Second, NoTrace: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() {
		sctx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = p.Shutdown(sctx)
	}()
	sh := p.shedding.Load()
	if sh == nil {
		t.Fatal("OverloadDelay is set, yet the phone has no shedder")
	}
	c, err := net.Dial("udp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	invite := "INVITE sip:endpoint@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-probe-e2e\r\n" +
		"From: <sip:sipp@127.0.0.1>;tag=f1\r\nTo: <sip:endpoint@127.0.0.1>\r\n" +
		"Call-ID: z9hG4bK-probe-e2e@127.0.0.1\r\nCSeq: 1 INVITE\r\n" +
		"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(invite)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if d, ok := sh.ProbeReached("z9hG4bK-probe-e2e"); ok {
			t.Logf("kernel to handler: %v", d)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the INVITE was not timed to the handler")
		}
	}
}
