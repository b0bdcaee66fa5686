package ctl

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeCommand checks that no input makes the decoder or the
// dispatcher panic, and that every response is valid JSON with either a
// result or an error code.
func FuzzDecodeCommand(f *testing.F) {
	for _, s := range []string{
		`{"id":"7","cmd":"dial","args":{"to":"sip:bob@127.0.0.1:5070"}}`,
		`{"id":1,"cmd":"reject","args":{"call_id":"c1","code":603}}`,
		`{"cmd":"dtmf","args":{"call_id":"c1","digits":"1#"}}`,
		`{"cmd":"status"}`,
		`{"id":{"a":1},"cmd":"ping"}`,
		`{"cmd":"ping","args":[1]}`,
		`{"cmd":"ping"} trailing`,
		`[]`, `null`, `"x"`, ``, `{`,
	} {
		f.Add([]byte(s))
	}
	d := NewDispatcher(newFake(), nil)
	f.Fuzz(func(t *testing.T, line []byte) {
		req, err := DecodeCommand(line)
		if err != nil {
			if e, ok := err.(*Error); !ok || e.Code != CodeBadRequest {
				t.Fatalf("DecodeCommand error %T %v, want a bad_request *Error", err, err)
			}
		} else if req.Cmd == "" {
			t.Fatalf("DecodeCommand accepted a command without cmd: %q", line)
		}
		if !validID(req.ID) {
			t.Fatalf("DecodeCommand returned an id that cannot be echoed: %s", req.ID)
		}
		resp := d.Handle(t.Context(), line)
		b, err := json.Marshal(resp)
		if err != nil {
			t.Fatalf("response does not marshal: %v (%+v)", err, resp)
		}
		if !json.Valid(b) || resp.OK == (resp.Error != nil) {
			t.Fatalf("bad response %s", b)
		}
	})
}
