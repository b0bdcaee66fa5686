package phone

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestFixRouteDestination(t *testing.T) {
	mk := func(method sip.RequestMethod, toTag, route, dest string) *sip.Request {
		req := sip.NewRequest(method, sip.Uri{Scheme: "sips", User: "bob", Host: "127.0.0.1", Port: 60466})
		to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "bob", Host: "example.org"}, Params: sip.NewParams()}
		if toTag != "" {
			to.Params.Add("tag", toTag)
		}
		req.AppendHeader(to)
		if route != "" {
			req.AppendHeader(sip.NewHeader("Route", route))
		}
		if dest != "" {
			req.SetDestination(dest)
		}
		return req
	}
	const proxy = "<sip:127.0.0.1:45061;transport=tls;lr>"
	tests := []struct {
		name string
		req  *sip.Request
		want string
	}{
		{"re-INVITE frozen at the remote target goes to the route", mk(sip.INVITE, "t1", proxy, "127.0.0.1:60466"), "127.0.0.1:45061"},
		{"BYE likewise", mk(sip.BYE, "t1", proxy, "127.0.0.1:60466"), "127.0.0.1:45061"},
		{"no route: the remote target", mk(sip.INVITE, "t1", "", "127.0.0.1:60466"), "127.0.0.1:60466"},
		{"initial INVITE keeps its outbound proxy", mk(sip.INVITE, "", proxy, "10.0.0.1:5060"), "10.0.0.1:5060"},
		{"a destination set on purpose stays", mk(sip.INVITE, "t1", proxy, "10.0.0.1:5060"), "10.0.0.1:5060"},
		{"ACK untouched", mk(sip.ACK, "t1", proxy, "127.0.0.1:60466"), "127.0.0.1:60466"},
	}
	for _, tc := range tests {
		fixRouteDestination(tc.req)
		if got := tc.req.Destination(); got != tc.want {
			t.Errorf("%s: destination %s, want %s", tc.name, got, tc.want)
		}
	}
}
