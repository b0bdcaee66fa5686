package phone

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// fakeTx is a client transaction driven by the test: silent until it is
// given a response or an error, or terminated.
type fakeTx struct {
	res  chan *sip.Response
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	err  error
}

func newFakeTx() *fakeTx {
	return &fakeTx{res: make(chan *sip.Response), done: make(chan struct{})}
}

func (f *fakeTx) end(err error) {
	f.once.Do(func() {
		f.mu.Lock()
		f.err = err
		f.mu.Unlock()
		close(f.done)
	})
}

func (f *fakeTx) Responses() <-chan *sip.Response        { return f.res }
func (f *fakeTx) Done() <-chan struct{}                  { return f.done }
func (f *fakeTx) Terminate()                             { f.end(sip.ErrTransactionTerminated) }
func (f *fakeTx) OnTerminate(sip.FnTxTerminate) bool     { return false }
func (f *fakeTx) OnRetransmission(sip.FnTxResponse) bool { return false }
func (f *fakeTx) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// outcomes collects the RequestOutcome events of a phone.
type outcomes struct {
	mu  sync.Mutex
	got []RequestOutcome
}

func (o *outcomes) add(ev Event) {
	if r, ok := ev.(RequestOutcome); ok {
		o.mu.Lock()
		o.got = append(o.got, r)
		o.mu.Unlock()
	}
}

func (o *outcomes) list() []RequestOutcome {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]RequestOutcome(nil), o.got...)
}

func trackPhone(max int) (*Phone, *outcomes) {
	o := &outcomes{}
	p := &Phone{cfg: Config{MaxInFlightPerPeer: max, Events: o.add}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	return p, o
}

// silentPeer is a UDP socket that reads and never answers: a peer that is
// there and silent (it must not count as vanished).
func silentPeer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	go func() {
		b := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(b); err != nil {
				return
			}
		}
	}()
	return pc.LocalAddr().String()
}

func reqTo(t *testing.T, method sip.RequestMethod, peer string) *sip.Request {
	t.Helper()
	host, port, _ := net.SplitHostPort(peer)
	n, _ := strconv.Atoi(port)
	req := sip.NewRequest(method, sip.Uri{Scheme: "sip", User: "bob", Host: host, Port: n})
	cid := sip.CallIDHeader("chaos-" + sip.GenerateTagN(8))
	req.AppendHeader(&cid)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 2, MethodName: method})
	req.SetTransport("UDP")
	return req
}

// TestTrackRequestBoundsPerPeer: 100 hang-ups and INFOs to a silent peer
// leave at most MaxInFlightPerPeer requests (and their goroutines) in
// flight; the rest fail at once with ErrTooManyInFlight and a not_sent
// outcome; a slot frees when a request ends.
func TestTrackRequestBoundsPerPeer(t *testing.T) {
	p, o := trackPhone(0) // default 32
	peer := silentPeer(t)
	before := runtime.NumGoroutine()
	var txs []sip.ClientTransaction
	var refused int
	for i := range 100 {
		m := sip.BYE
		if i%2 == 1 {
			m = sip.INFO
		}
		tx, err := p.trackRequest(t.Context(), reqTo(t, m, peer), func(context.Context, *sip.Request) (sip.ClientTransaction, error) {
			return newFakeTx(), nil
		})
		switch {
		case errors.Is(err, ErrTooManyInFlight):
			refused++
		case err != nil:
			t.Fatalf("request %d: %v", i, err)
		default:
			txs = append(txs, tx)
		}
	}
	if len(txs) != defaultMaxInFlightPerPeer || refused != 100-defaultMaxInFlightPerPeer {
		t.Fatalf("sent %d, refused %d; want %d and %d", len(txs), refused, defaultMaxInFlightPerPeer, 100-defaultMaxInFlightPerPeer)
	}
	if n := p.InFlight(peer); n != defaultMaxInFlightPerPeer {
		t.Errorf("InFlight(%s) = %d, want %d", peer, n, defaultMaxInFlightPerPeer)
	}
	// A pump and a vanish watcher per request in flight, no more.
	if grown := runtime.NumGoroutine() - before; grown > 2*defaultMaxInFlightPerPeer+4 {
		t.Errorf("%d goroutines for %d requests in flight, want at most %d", grown, len(txs), 2*defaultMaxInFlightPerPeer+4)
	}
	notSent := 0
	for _, r := range o.list() {
		if r.Outcome == OutcomeNotSent {
			notSent++
		}
	}
	if notSent != refused {
		t.Errorf("%d not_sent outcomes, want %d", notSent, refused)
	}
	// One ends: its slot is free for the next request.
	txs[0].Terminate()
	deadline := time.Now().Add(2 * time.Second)
	for p.InFlight(peer) != defaultMaxInFlightPerPeer-1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := p.trackRequest(t.Context(), reqTo(t, sip.BYE, peer), func(context.Context, *sip.Request) (sip.ClientTransaction, error) {
		return newFakeTx(), nil
	}); err != nil {
		t.Errorf("after a slot freed: %v", err)
	}
	// Close gives up the rest and joins every goroutine.
	p.reqs.stop(context.Background(), 0)
	if n := p.InFlight(peer); n != 0 {
		t.Errorf("InFlight after stop = %d, want 0", n)
	}
	deadline = time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Errorf("%d goroutines after stop, had %d before", n, before)
	}
}

// TestTrackRequestOutcomes: each way a request ends is reported once, with
// the caller seeing the final response before the end.
func TestTrackRequestOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		drive   func(*fakeTx)
		want    OutcomeKind
		code    int
		wantErr error
	}{
		{"answered", func(f *fakeTx) { f.res <- &sip.Response{StatusCode: 486, Reason: "Busy Here"}; f.end(nil) }, OutcomeAnswered, 486, nil},
		{"timed out", func(f *fakeTx) { f.end(sip.ErrTransactionTimeout) }, OutcomeTimedOut, 0, sip.ErrTransactionTimeout},
		{"transport error", func(f *fakeTx) { f.end(sip.ErrTransactionTransport) }, OutcomeTransportError, 0, sip.ErrTransactionTransport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, o := trackPhone(0)
			defer p.reqs.stop(context.Background(), 0)
			f := newFakeTx()
			tx, err := p.trackRequest(t.Context(), reqTo(t, sip.NOTIFY, silentPeer(t)), func(context.Context, *sip.Request) (sip.ClientTransaction, error) {
				return f, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			go tt.drive(f)
			var code int
		loop:
			for {
				select {
				case r := <-tx.Responses():
					code = int(r.StatusCode)
				case <-tx.Done():
					break loop
				case <-time.After(5 * time.Second):
					t.Fatalf("%s: transaction never ended", tt.name)
				}
			}
			if code != tt.code {
				t.Errorf("%s: caller saw code %d, want %d", tt.name, code, tt.code)
			}
			if tt.wantErr != nil && !errors.Is(tx.Err(), tt.wantErr) {
				t.Errorf("%s: Err() = %v, want %v", tt.name, tx.Err(), tt.wantErr)
			}
			got := o.list()
			if len(got) != 1 || got[0].Outcome != tt.want || got[0].Code != tt.code || got[0].Method != "NOTIFY" {
				t.Errorf("%s: outcomes %+v, want one %s %d", tt.name, got, tt.want, tt.code)
			}
		})
	}
}

// TestTrackRequestVanishedPeer: a request to a UDP port nobody listens on
// any more ends as a transport error within about a second (ICMP port
// unreachable), not after Timer F; a silent peer that is still there does
// not.
func TestTrackRequestVanishedPeer(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gonePeer := pc.LocalAddr().String()
	_ = pc.Close()
	for _, tc := range []struct {
		name   string
		peer   string
		vanish bool
	}{
		{"vanished", gonePeer, true},
		{"silent", silentPeer(t), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, o := trackPhone(0)
			defer p.reqs.stop(context.Background(), 0)
			start := time.Now()
			tx, err := p.trackRequest(t.Context(), reqTo(t, sip.BYE, tc.peer), func(context.Context, *sip.Request) (sip.ClientTransaction, error) {
				return newFakeTx(), nil
			})
			if err != nil {
				t.Fatal(err)
			}
			select {
			case <-tx.Done():
				took := time.Since(start)
				if !tc.vanish {
					t.Fatalf("%s: ended after %s with %v, want it to wait", tc.name, took, tx.Err())
				}
				if !errors.Is(tx.Err(), sip.ErrTransactionTransport) || took > 1500*time.Millisecond {
					t.Errorf("%s: ended after %s with %v, want a transport error within 1.5 s", tc.name, took, tx.Err())
				}
				t.Logf("%s: transport error after %s", tc.name, took.Round(time.Millisecond))
				got := o.list()
				if len(got) != 1 || got[0].Outcome != OutcomeTransportError {
					t.Errorf("%s: outcomes %+v, want one transport_error", tc.name, got)
				}
			case <-time.After(2 * time.Second):
				if tc.vanish {
					t.Fatalf("%s: still waiting after 2 s", tc.name)
				}
			}
		})
	}
}
