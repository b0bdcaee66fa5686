package ctl

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/coder/websocket"

	"github.com/anyphone/anyphone/phone/vocab"
)

// clientEventBuffer bounds the events a Client holds for a slow reader;
// past it events are dropped and a "lagged" event follows.
const clientEventBuffer = 256

// Client is a control connection to a running instance. Do may be called
// from several goroutines; responses are matched to commands by id.
type Client struct {
	conn   *websocket.Conn
	seq    atomic.Uint64
	events chan Event
	done   chan struct{} // closed when the reader has ended
	cancel context.CancelFunc

	mu      sync.Mutex
	pending map[string]chan reply // guarded by mu
	err     error                 // guarded by mu; why the connection ended
	dropped int                   // only the reader touches it
}

// reply is what the reader hands to a waiting Do.
type reply struct {
	resp Response
	err  error // the connection ended first
}

// ClientURL turns addr into the WebSocket URL: "host:port" becomes
// ws://host:port/ctl; a ws:// or wss:// URL is used as is.
func ClientURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "ws://" + addr + Path
}

// Dial connects to a control Server at addr (host:port or a ws:// URL),
// presenting token if set. A refused token returns an error wrapping
// ErrUnauthorized.
func Dial(ctx context.Context, addr string, token vocab.Secret) (*Client, error) {
	return DialUser(ctx, addr, "", token)
}

// DialUser is Dial to a server of many users (the shared AnyDevice
// controller) as user, with that user's token.
func DialUser(ctx context.Context, addr, user string, token vocab.Secret) (*Client, error) {
	opts := &websocket.DialOptions{HTTPHeader: http.Header{}}
	if token != "" {
		opts.HTTPHeader.Set("Authorization", "Bearer "+token.Reveal())
	}
	if user != "" {
		opts.HTTPHeader.Set(UserHeader, user)
	}
	u := ClientURL(addr)
	conn, resp, err := websocket.Dial(ctx, u, opts)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, fmt.Errorf("ctl: dial %s: %w", u, ErrUnauthorized)
		}
		if resp != nil && resp.StatusCode == http.StatusForbidden {
			return nil, fmt.Errorf("ctl: dial %s: forbidden (connect over loopback, or use a token): %w", u, ErrUnauthorized)
		}
		return nil, fmt.Errorf("ctl: dial %s: %w", u, err)
	}
	// Responses and events can be as large as a snapshot or a ladder.
	conn.SetReadLimit(16 << 20)
	rctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		conn:    conn,
		events:  make(chan Event, clientEventBuffer),
		done:    make(chan struct{}),
		cancel:  cancel,
		pending: make(map[string]chan reply),
	}
	// The reader is owned by the Client: it ends when the connection does
	// and Close waits for it.
	go c.read(rctx)
	return c, nil
}

// read delivers responses to their callers and events to Events until the
// connection ends.
func (c *Client) read(ctx context.Context) {
	defer close(c.done)
	defer close(c.events)
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			c.fail(err)
			return
		}
		ev, resp, err := decodeMessage(b)
		if err != nil {
			c.fail(fmt.Errorf("ctl: bad message from server: %w", err))
			c.conn.CloseNow()
			return
		}
		if ev != nil {
			c.deliver(*ev)
			continue
		}
		c.mu.Lock()
		ch, ok := c.pending[string(resp.ID)]
		delete(c.pending, string(resp.ID))
		c.mu.Unlock()
		if ok {
			ch <- reply{resp: *resp} // buffered 1
		}
	}
}

// deliver queues ev for Events without blocking; when the queue is full it
// counts the drop and queues a lagged event once there is room.
func (c *Client) deliver(ev Event) {
	if c.dropped > 0 {
		lag, _ := EncodeEvent(EventLagged, ev.Time, struct {
			Dropped int `json:"dropped"`
		}{c.dropped})
		select {
		case c.events <- Event{Name: EventLagged, Time: ev.Time, Raw: lag}:
			c.dropped = 0
		default:
			c.dropped++
			return
		}
	}
	select {
	case c.events <- ev:
	default:
		c.dropped++
	}
}

// fail records why the connection ended and fails every pending command.
func (c *Client) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	for id, ch := range c.pending {
		ch <- reply{err: c.err}
		delete(c.pending, id)
	}
}

// Do sends cmd with args (any value that marshals to a JSON object, or nil)
// and waits for the response. A failed command returns an *Error with its
// code; a closed connection returns an error wrapping ErrClosed.
func (c *Client) Do(ctx context.Context, cmd string, args any) (json.RawMessage, error) {
	id := strconv.Quote(strconv.FormatUint(c.seq.Add(1), 10))
	req := Request{ID: json.RawMessage(id), Cmd: cmd}
	if args != nil {
		a, err := json.Marshal(args)
		if err != nil {
			return nil, fmt.Errorf("ctl: %s args: %w", cmd, err)
		}
		req.Args = a
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	ch := make(chan reply, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.pending[id] = ch
	c.mu.Unlock()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("ctl: %s: %w", cmd, err)
	}
	select {
	case <-ctx.Done():
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		return nil, fmt.Errorf("ctl: %s: %w", cmd, context.Cause(ctx))
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		resp := r.resp
		if !resp.OK {
			if resp.Error == nil {
				return nil, &Error{Code: CodeInternal, Message: "response without error"}
			}
			return nil, resp.Error
		}
		return resp.Result, nil
	}
}

// Subscribe asks the server to stream events to Events and returns the
// snapshot (as in the status command) to start from.
func (c *Client) Subscribe(ctx context.Context) (json.RawMessage, error) {
	return c.Do(ctx, "subscribe", nil)
}

// Events delivers events once subscribed. It is closed when the connection
// ends. A reader that falls behind by more than 256 events gets a "lagged"
// event in place of the ones dropped.
func (c *Client) Events() <-chan Event { return c.events }

// Done is closed when the connection has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended, or nil while it is open.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close closes the connection and waits for the reader. It returns nil; it
// is there for io.Closer.
func (c *Client) Close() error {
	err := c.conn.Close(websocket.StatusNormalClosure, "")
	c.cancel()
	<-c.done
	_ = err // the connection may already have ended; nothing to report
	return nil
}
