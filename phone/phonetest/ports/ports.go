// Package ports hands out blocks of loopback ports for peers a test starts.
package ports

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// Free returns the first of n consecutive ports (an even base) that
// are free on 127.0.0.1 for UDP and TCP, below the kernel's ephemeral
// range: a socket another process binds to port 0 later (an RTP port, a
// client connection) never lands in the block, as it may in a block taken
// from the ephemeral range, where a packet capture of the block then sees
// a stranger's packets and a peer may find its port gone. skip, if not
// nil, names ports already handed out in this process. The block starts at
// a random offset so that parallel test binaries rarely race for it.
func Free(n int, skip func(port int) bool) (int, error) {
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				lo = v
			}
		}
	}
	first := 10000
	if lo-n <= first {
		first = 1024
	}
	start := first
	var r [2]byte
	_, _ = rand.Read(r[:])
	if span := lo - n - first; span > 0 {
		start += (int(r[0])<<8 | int(r[1])) % span &^ 1
	}
	for _, from := range []int{start, first} {
		for base := from; base+n <= lo; {
			bad := -1
			for p := base; p < base+n; p++ {
				if p == 5060 || p == 5061 || (skip != nil && skip(p)) || !IsFree(p) {
					bad = p
					break
				}
			}
			if bad < 0 {
				return base, nil
			}
			base = (bad + 2) &^ 1
		}
	}
	return 0, fmt.Errorf("no %d free ports below %d", n, lo)
}

// IsFree reports whether p is bindable on 127.0.0.1 for UDP and TCP.
func IsFree(p int) bool {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	u.Close()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	l.Close()
	return true
}
