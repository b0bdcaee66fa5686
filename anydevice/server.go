package anydevice

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/anyphone/anyphone/phone/vocab"
)

// Request is one command on the control API: JSON, one per WebSocket
// message. The first must be "auth".
//
//	{"id":"1","cmd":"auth","args":{"user":"alice","token":"..."}}
//	{"id":"2","cmd":"callback","args":{"to":"+4930123","device":"mobile"}}
//	{"id":"3","cmd":"set_device","args":{"devices":["desk","mobile"]}}
//	{"id":"4","cmd":"hold","args":{"session":"s1"}}     (resume, hangup alike)
//	{"id":"5","cmd":"move","args":{"session":"s1","device":"desk"}}
//	{"id":"6","cmd":"consult","args":{"session":"s1","to":"+4930999"}}
//	{"id":"7","cmd":"toggle","args":{"session":"s1"}}   (conference, complete_transfer alike)
//	{"id":"8","cmd":"transfer","args":{"session":"s1","to":"+4930999"}}  (blind; without "to": complete the consultation)
//	{"id":"9","cmd":"status"}
type Request struct {
	ID   string      `json:"id"`
	Cmd  string      `json:"cmd"`
	Args RequestArgs `json:"args"`
}

// RequestArgs are the arguments of every command (each uses some).
type RequestArgs struct {
	User     string    `json:"user,omitempty"`
	Token    string    `json:"token,omitempty"`
	To       string    `json:"to,omitempty"`
	Device   string    `json:"device,omitempty"`
	Devices  []string  `json:"devices,omitempty"`
	CallerID string    `json:"caller_id,omitempty"`
	Session  SessionID `json:"session,omitempty"`
}

// Response answers a Request with the same id. Rule is set when the
// controller refused (RefusedError).
type Response struct {
	ID     string `json:"id"`
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Rule   string `json:"rule,omitempty"`
	Result any    `json:"result,omitempty"`
}

// Message is an event pushed to an authenticated connection: only the
// user's own sessions and refusals.
type Message struct {
	Event   string               `json:"event"` // session, session_ended, refused, device, dtmf
	Session *SessionInfo         `json:"session,omitempty"`
	Refused *Refused             `json:"refused,omitempty"`
	Device  *ActiveDeviceChanged `json:"device,omitempty"`
	DTMF    *DTMF                `json:"dtmf,omitempty"`
}

// Why not cti/ctl's wire format and server: cti/ctl authenticates a
// connection with one server-wide token at the WebSocket handshake and then
// drives one cti.Service (call ids, one phone's calls). The controller
// serves many users on one listener: each connection must authenticate as
// one user with that user's own token, and may then see and act on only
// that user's sessions, devices and numbers; a session is several calls
// (legs) that clients never address one by one. Neither fits ctl.Server
// or ctl.Controller without changing cti/ctl (a per-connection identity
// from an authenticator hook, and a session-level command table), and
// anydevice may not import cti (deps_test.go). The envelope is kept close
// to ctl's ({"id","cmd","args"} in, {"id","ok",...} back, {"event":...}
// pushed) so a client can share its framing.
//
// Handler serves the control API as JSON messages over WebSocket. Every
// connection authenticates as one user with that user's token (compared in
// constant time); it can then act only for that user. Bind it to loopback
// or put TLS in front: the tokens travel in the clear otherwise.
func (c *Controller) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer conn.CloseNow()
		c.serveConn(r.Context(), conn, vocab.SourceOf(r.RemoteAddr))
	})
}

func (c *Controller) serveConn(ctx context.Context, conn *websocket.Conn, src string) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	send := func(v any) error {
		b, _ := json.Marshal(v)
		wctx, done := context.WithTimeout(ctx, 5*time.Second)
		defer done()
		return conn.Write(wctx, websocket.MessageText, b)
	}
	read := func() (Request, error) {
		var req Request
		_, b, err := conn.Read(ctx)
		if err != nil {
			return req, err
		}
		if err := json.Unmarshal(b, &req); err != nil {
			return req, errBadRequest
		}
		return req, nil
	}
	// Authentication first; three strikes and the connection is closed.
	var user string
	for tries := 0; user == ""; tries++ {
		req, err := read()
		if errors.Is(err, errBadRequest) {
			_ = send(Response{Error: err.Error()})
			continue
		}
		if err != nil {
			return
		}
		switch {
		case !c.authGuard.Allow(src, time.Now()):
			// Too many failures from this address: the token is not even
			// looked at (a token cannot be guessed at wire speed).
			_ = c.refuse(req.Args.User, "auth-rate", "authentication from "+src+" rate-limited")
			_ = send(Response{ID: req.ID, Error: ErrUnauthenticated.Error(), Rule: "auth-rate"})
			conn.Close(websocket.StatusPolicyViolation, "too many failed authentications")
			return
		case req.Cmd != "auth":
			_ = c.refuse(req.Args.User, "auth", "command "+req.Cmd+" before auth from "+src)
			_ = send(Response{ID: req.ID, Error: ErrUnauthenticated.Error(), Rule: "auth"})
			c.authGuard.Fail(src, time.Now())
		default:
			if err := c.Authenticate(req.Args.User, req.Args.Token); err != nil {
				c.authGuard.Fail(src, time.Now())
				c.log.Warn("control API authentication failed", "user", req.Args.User, "peer", src)
				_ = send(Response{ID: req.ID, Error: err.Error(), Rule: "auth"})
			} else {
				c.authGuard.Succeed(src)
				user = req.Args.User
				_ = send(Response{ID: req.ID, OK: true})
			}
		}
		if user == "" && tries >= 2 {
			conn.Close(websocket.StatusPolicyViolation, "unauthenticated")
			return
		}
	}
	events, unsub := c.Subscribe(256)
	defer unsub()
	done := make(chan struct{})
	go func() {
		// The event pusher: owned by serveConn, which waits for it.
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case ev := <-events:
				if m, ok := messageFor(user, ev); ok {
					if send(m) != nil {
						cancel()
						return
					}
				}
			}
		}
	}()
	defer func() { cancel(); <-done }()
	for {
		req, err := read()
		if errors.Is(err, errBadRequest) {
			_ = send(Response{Error: err.Error()})
			continue
		}
		if err != nil {
			return
		}
		if send(c.dispatch(ctx, user, req)) != nil {
			return
		}
	}
}

var errBadRequest = errors.New("anydevice: bad request")

func (c *Controller) dispatch(ctx context.Context, user string, req Request) Response {
	res := Response{ID: req.ID}
	var err error
	a := req.Args
	switch req.Cmd {
	case "callback", "dial":
		var sid SessionID
		sid, err = c.Callback(ctx, user, a.To, CallbackOptions{Device: a.Device, CallerID: a.CallerID})
		res.Result = map[string]SessionID{"session": sid}
	case "set_device":
		devs := a.Devices
		if len(devs) == 0 && a.Device != "" {
			devs = []string{a.Device}
		}
		err = c.SetActiveDevice(user, devs...)
	case "hold":
		err = c.Hold(user, a.Session)
	case "resume":
		err = c.Resume(user, a.Session)
	case "hangup":
		err = c.Hangup(user, a.Session)
	case "move":
		err = c.Move(user, a.Session, a.Device)
	case "consult":
		err = c.Consult(user, a.Session, a.To)
	case "toggle":
		err = c.Toggle(user, a.Session)
	case "transfer":
		if a.To != "" {
			err = c.Transfer(user, a.Session, a.To)
		} else {
			err = c.CompleteTransfer(user, a.Session)
		}
	case "complete_transfer":
		err = c.CompleteTransfer(user, a.Session)
	case "conference":
		err = c.Conference(user, a.Session)
	case "status":
		var st Status
		st, err = c.Status(user)
		res.Result = st
	case "auth":
		err = errors.New("anydevice: already authenticated")
	default:
		err = errors.New("anydevice: unknown command " + req.Cmd)
	}
	if err != nil {
		res.Result = nil
		res.Error = err.Error()
		var re *RefusedError
		if errors.As(err, &re) {
			res.Rule = re.Rule
		}
		return res
	}
	res.OK = true
	return res
}

// messageFor filters an event for user's connection.
func messageFor(user string, ev Event) (Message, bool) {
	switch e := ev.(type) {
	case SessionChanged:
		if e.Session.User == user {
			return Message{Event: "session", Session: &e.Session}, true
		}
	case SessionEnded:
		if e.Session.User == user {
			return Message{Event: "session_ended", Session: &e.Session}, true
		}
	case Refused:
		if e.User == user {
			return Message{Event: "refused", Refused: &e}, true
		}
	case ActiveDeviceChanged:
		if e.User == user {
			return Message{Event: "device", Device: &e}, true
		}
	}
	return Message{}, false
}
