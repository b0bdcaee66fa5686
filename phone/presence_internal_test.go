package phone

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/anyphone/anyphone/phone/vocab"
)

// startTestPhone starts a phone named name on 127.0.0.1 whose events go to
// the returned channel.
func startTestPhone(t *testing.T, name string, acct *Account) (*Phone, chan Event) {
	t.Helper()
	ch := make(chan Event, 256)
	p, err := New(Config{Name: name, Account: acct, Events: func(ev Event) {
		select {
		case ch <- ev:
		default:
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = p.Shutdown(sctx)
		cancel()
	})
	return p, ch
}

func waitWatchState(t *testing.T, ch chan Event, what string, pred func(Watch) bool) Watch {
	t.Helper()
	deadline := time.After(8 * time.Second)
	for {
		select {
		case ev := <-ch:
			if pr, ok := ev.(PresenceReceived); ok && pred(pr.Watch) {
				return pr.Watch
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestDialogSubscriptionExpires: the server grants 2 s; when they run out
// it sends a final NOTIFY (Subscription-State: terminated;reason=timeout),
// and the watcher subscribes again by itself (it refreshes at 80 %, so
// lower the refresh: it must see the termination first).
func TestDialogSubscriptionExpires(t *testing.T) {
	oldMax, oldMin := presenceMaxExpiry, presenceMinExpiry
	presenceMaxExpiry, presenceMinExpiry = 2, 1
	t.Cleanup(func() { presenceMaxExpiry, presenceMinExpiry = oldMax, oldMin })

	alice, _ := startTestPhone(t, "alice", nil)
	bob, events := startTestPhone(t, "bob", nil)
	if _, err := bob.Watch(alice.URI()); err != nil {
		t.Fatal(err)
	}
	waitWatchState(t, events, "active", func(w Watch) bool { return w.State == vocab.WatchActive })
	// Either the refresh at 1.6 s or the expiry at 2 s comes first; with a
	// 2 s grant the refresh wins, so the server must accept it and NOTIFY.
	waitWatchState(t, events, "a NOTIFY after the refresh", func(w Watch) bool { return w.State == vocab.WatchActive })
	alice.presence.mu.Lock()
	n := 0
	for _, s := range alice.presence.subs {
		if !s.pidf { // the watch's presence companion is the other one
			n++
		}
	}
	alice.presence.mu.Unlock()
	if n != 1 {
		t.Errorf("alice serves %d dialog subscriptions, want 1 (the refreshed one)", n)
	}
	// Stop bob's refreshes: the subscription now expires at alice.
	bob.watching.mu.Lock()
	var w *watcher
	for _, x := range bob.watching.byTarget {
		w = x
	}
	bob.watching.mu.Unlock()
	w.mu.Lock()
	cid := w.callID
	w.mu.Unlock()
	w.cancel() // no unsubscribe: the dialog is left to expire
	w.mu.Lock()
	w.toTag = "" // unsubscribe() sends nothing without a dialog
	w.mu.Unlock()
	time.Sleep(3 * time.Second)
	alice.presence.mu.Lock()
	for _, s := range alice.presence.subs {
		if s.callID == cid {
			t.Errorf("subscription %s still served after its expiry", cid)
		}
	}
	alice.presence.mu.Unlock()
	// alice's ladder of that dialog ends with the final NOTIFY.
	final := false
	for _, m := range alice.Ladder(CallID(cid)) {
		if m.Sent && strings.HasPrefix(m.Summary, "NOTIFY") && strings.Contains(m.Raw, "Subscription-State: terminated;reason=timeout") {
			final = true
		}
	}
	if !final {
		t.Errorf("no final NOTIFY (terminated;reason=timeout) in alice's ladder of %s", cid)
	}
}

// TestPublishETag: the first PUBLISH carries the state and no
// SIP-If-Match; a change is a PUBLISH with SIP-If-Match and the new state;
// a 412 makes the next one start afresh (no SIP-If-Match, with a body); a
// refresh before expiry has SIP-If-Match and no body.
func TestPublishETag(t *testing.T) {
	type got struct {
		ifMatch, body, expires string
	}
	var (
		mu    sync.Mutex
		reqs  []got
		n     int
		pidf  int // PUBLISHes of Event: presence
		etags = []string{"e1", "", "e2", "e3", "e4", "e5", "e6"}
	)
	// A phone first: its start sets sipgo's package globals (the tracer)
	// once, which our server's read loop then reads.
	alice, _ := startTestPhone(t, "alice", nil)
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnPublish(func(req *sip.Request, tx sip.ServerTransaction) {
		if eventPackage(req) == presenceEvent {
			// A dialog-only server: the PIDF publisher stops at 489.
			mu.Lock()
			pidf++
			mu.Unlock()
			_ = tx.Respond(sip.NewResponseFromRequest(req, 489, "Bad Event", nil))
			return
		}
		mu.Lock()
		g := got{body: string(req.Body())}
		if h := req.GetHeader("SIP-If-Match"); h != nil {
			g.ifMatch = h.Value()
		}
		if h := req.GetHeader("Expires"); h != nil {
			g.expires = h.Value()
		}
		reqs = append(reqs, g)
		i := n
		n++
		mu.Unlock()
		if i == 1 { // the server lost the entity
			_ = tx.Respond(sip.NewResponseFromRequest(req, 412, "Conditional Request Failed", nil))
			return
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", nil)
		res.AppendHeader(sip.NewHeader("SIP-ETag", etags[min(i, len(etags)-1)]))
		res.AppendHeader(sip.NewHeader("Expires", "2"))
		_ = tx.Respond(res)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeUDP(pc) }() // ends when pc closes
	t.Cleanup(func() { _ = pc.Close(); _ = ua.Close() })

	if err := alice.StartPublishing("sip:" + pc.LocalAddr().String()); err != nil {
		t.Fatal(err)
	}
	if err := alice.StartPublishing("sip:" + pc.LocalAddr().String()); err == nil {
		t.Error("a second StartPublishing: no error")
	}
	waitN := func(k int) []got {
		t.Helper()
		for deadline := time.Now().Add(6 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			if len(reqs) >= k {
				out := append([]got(nil), reqs...)
				mu.Unlock()
				return out
			}
			mu.Unlock()
		}
		t.Fatalf("fewer than %d PUBLISHes", k)
		return nil
	}
	r := waitN(1)
	if r[0].ifMatch != "" || !strings.Contains(r[0].body, "dialog-info") {
		t.Errorf("first PUBLISH %+v: want a body and no SIP-If-Match", r[0])
	}
	// A change: carol calls alice; the PUBLISH with e1 gets 412, then a
	// fresh one with the state.
	carol, _ := startTestPhone(t, "carol", nil)
	if _, err := carol.Dial(t.Context(), alice.URI(), DialOptions{}); err != nil {
		t.Fatal(err)
	}
	r = waitN(3)
	if r[1].ifMatch != "e1" || !strings.Contains(r[1].body, "<state>early</state>") {
		t.Errorf("PUBLISH after the change %+v: want SIP-If-Match e1 and the early dialog", r[1])
	}
	if r[2].ifMatch != "" || !strings.Contains(r[2].body, "<state>early</state>") {
		t.Errorf("PUBLISH after the 412 %+v: want no SIP-If-Match and the state", r[2])
	}
	// The refresh (2 s granted: at 1.6 s) has the latest entity tag and no body.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		var refresh *got
		for i := 3; i < len(reqs); i++ {
			if reqs[i].body == "" {
				refresh = &reqs[i]
				break
			}
		}
		mu.Unlock()
		if refresh != nil {
			if !strings.HasPrefix(refresh.ifMatch, "e") || refresh.expires != "600" {
				t.Errorf("refresh %+v: want SIP-If-Match and Expires 600", *refresh)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no refresh PUBLISH: %+v", reqs)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if pidf != 1 {
		t.Errorf("%d PIDF PUBLISHes to a server without the presence package, want 1 (then it stops)", pidf)
	}
}
