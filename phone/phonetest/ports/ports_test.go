package ports

import (
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestFree: the block is free, even-based, below the ephemeral range (a
// socket bound to port 0 never lands in it) and avoids what skip names.
func TestFree(t *testing.T) {
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if v, err := strconv.Atoi(strings.Fields(string(b))[0]); err == nil {
			lo = v
		}
	}
	taken := map[int]bool{}
	for _, n := range []int{1, 4, 20, 1000} {
		base, err := Free(n, func(p int) bool { return taken[p] })
		if err != nil {
			t.Fatalf("Free(%d): %v", n, err)
		}
		if base%2 != 0 || base < 1024 || base+n > lo {
			t.Fatalf("Free(%d) = %d: want an even base in [1024, %d-%d]", n, base, lo, n)
		}
		for p := base; p < base+n; p++ {
			if taken[p] || p == 5060 {
				t.Fatalf("Free(%d) = %d hands out %d again", n, base, p)
			}
			taken[p] = true
		}
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: base + n - 1})
		if err != nil {
			t.Fatalf("Free(%d) = %d, but %d is taken: %v", n, base, base+n-1, err)
		}
		c.Close()
	}
	for range 50 {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if taken[p] {
			t.Fatalf("an ephemeral bind got %d, inside a block Free handed out", p)
		}
	}
}
