package sipguard

import (
	"net"
	"net/netip"
)

// AddrAllowed reports whether src (host or host:port) is inside one of
// the allow prefixes; IPv4-mapped IPv6 counts as IPv4.
func AddrAllowed(allow []netip.Prefix, src string) bool {
	host := src
	if h, _, err := net.SplitHostPort(src); err == nil {
		host = h
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, pf := range allow {
		if pf.Contains(addr) {
			return true
		}
	}
	return false
}
