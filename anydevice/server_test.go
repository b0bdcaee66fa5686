package anydevice_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/anyphone/anyphone/anydevice"
	"github.com/anyphone/anyphone/phone"
	"github.com/anyphone/anyphone/phone/phonetest"
)

type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func dialAPI(t *testing.T, url string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return &wsClient{t: t, conn: conn}
}

// do sends req and returns the response with its id, skipping events.
func (w *wsClient) do(req anydevice.Request) anydevice.Response {
	w.t.Helper()
	b, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(w.t.Context(), 5*time.Second)
	defer cancel()
	if err := w.conn.Write(ctx, websocket.MessageText, b); err != nil {
		w.t.Fatal(err)
	}
	for {
		_, msg, err := w.conn.Read(ctx)
		if err != nil {
			w.t.Fatalf("read response to %s: %v", req.Cmd, err)
		}
		var res anydevice.Response
		if json.Unmarshal(msg, &res) == nil && res.ID == req.ID && !strings.Contains(string(msg), `"event"`) {
			return res
		}
	}
}

func TestControlAPI(t *testing.T) {
	mobile := phonetest.NewPhone(t, 0, &phone.Config{Name: "mobile"})
	ctl, rec := newController(t, []anydevice.User{alice("sip:desk@127.0.0.1:9", mobile.URI())}, nil)
	srv := httptest.NewServer(ctl.Handler())
	t.Cleanup(srv.Close)

	c := dialAPI(t, srv.URL)
	for _, tc := range []struct {
		name string
		req  anydevice.Request
		ok   bool
		rule string
	}{
		{"dial before auth", anydevice.Request{ID: "1", Cmd: "callback", Args: anydevice.RequestArgs{To: "+4930555"}}, false, "auth"},
		{"wrong token", anydevice.Request{ID: "2", Cmd: "auth", Args: anydevice.RequestArgs{User: "alice", Token: "guess"}}, false, "auth"},
		{"right token", anydevice.Request{ID: "3", Cmd: "auth", Args: anydevice.RequestArgs{User: "alice", Token: "alice-secret"}}, true, ""},
		{"premium", anydevice.Request{ID: "4", Cmd: "callback", Args: anydevice.RequestArgs{To: "+49900111"}}, false, "premium"},
		{"foreign caller id", anydevice.Request{ID: "5", Cmd: "callback", Args: anydevice.RequestArgs{To: "+4930555", CallerID: "+4930999"}}, false, "caller-id"},
		{"set device", anydevice.Request{ID: "6", Cmd: "set_device", Args: anydevice.RequestArgs{Device: "desk"}}, true, ""},
		{"set foreign device", anydevice.Request{ID: "7", Cmd: "set_device", Args: anydevice.RequestArgs{Device: "bobs"}}, false, "device-not-owned"},
		{"status", anydevice.Request{ID: "8", Cmd: "status"}, true, ""},
	} {
		res := c.do(tc.req)
		if res.OK != tc.ok || res.Rule != tc.rule {
			t.Errorf("%s: response %+v, want ok=%v rule=%q", tc.name, res, tc.ok, tc.rule)
		}
	}
	rec.waitRefused(t, "premium")
	if act, _ := ctl.ActiveDevices("alice"); len(act) != 1 || act[0] != "desk" {
		t.Errorf("active devices = %v, want [desk]", act)
	}
	if n := len(mobile.Calls()); n != 0 {
		t.Errorf("refused commands rang the device")
	}

	// Three failed logins close the connection.
	d := dialAPI(t, srv.URL)
	for i := range 3 {
		b, _ := json.Marshal(anydevice.Request{ID: "x", Cmd: "auth", Args: anydevice.RequestArgs{User: "alice", Token: "no"}})
		_ = d.conn.Write(t.Context(), websocket.MessageText, b)
		if _, _, err := d.conn.Read(t.Context()); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, _, err := d.conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("after 3 failed logins: %v, want policy violation close", err)
	}
}

// TestControlAPIRateLimitsFailedAuth: ten failed authentications from one
// address within a minute, and even alice's right token is refused (rule
// auth-rate) without being looked at; the failures are logged and evented
// without the token.
func TestControlAPIRateLimitsFailedAuth(t *testing.T) {
	ctl, rec := newController(t, []anydevice.User{alice("sip:desk@127.0.0.1:9", "sip:mobile@127.0.0.1:9")}, nil)
	srv := httptest.NewServer(ctl.Handler())
	t.Cleanup(srv.Close)
	n := 0
	for conn := 0; n < 10; conn++ {
		w := dialAPI(t, srv.URL)
		for try := 0; try < 3 && n < 10; try++ {
			n++
			res := w.do(anydevice.Request{ID: fmt.Sprint(n), Cmd: "auth", Args: anydevice.RequestArgs{User: "alice", Token: fmt.Sprintf("guess-%d", n)}})
			if res.OK || res.Rule != "auth" {
				t.Fatalf("guess %d: %+v, want refused by auth", n, res)
			}
		}
	}
	w := dialAPI(t, srv.URL)
	res := w.do(anydevice.Request{ID: "right", Cmd: "auth", Args: anydevice.RequestArgs{User: "alice", Token: "alice-secret"}})
	if res.OK || res.Rule != "auth-rate" {
		t.Fatalf("the right token after ten failures: %+v, want refused by auth-rate", res)
	}
	r := rec.waitRefused(t, "auth-rate")
	if strings.Contains(r.Detail, "alice-secret") || strings.Contains(r.Detail, "guess") {
		t.Errorf("a refusal names a token: %q", r.Detail)
	}
}
