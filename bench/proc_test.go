//go:build linux

package bench

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		user    time.Duration
		sys     time.Duration
		wantErr error
	}{
		{"plain", "1234 (sipp) S 1 1234 1234 0 -1 4194304 500 0 0 0 121 28 0 0 20 0 3 0", 121 * clockTick, 28 * clockTick, nil},
		{"comm with spaces and parens", "77 (a b) (c)) R 1 77 77 0 -1 0 0 0 0 0 7 3 0 0", 7 * clockTick, 3 * clockTick, nil},
		{"no parenthesis", "77 sipp R 1", 0, 0, ErrBadProcStat},
		{"truncated", "77 (sipp) R 1 77 77", 0, 0, ErrBadProcStat},
		{"not a number", "77 (sipp) R 1 77 77 0 -1 0 0 0 0 0 x 3 0 0", 0, 0, ErrBadProcStat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user, sys, err := parseProcStat([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
			}
			if user != tt.user || sys != tt.sys {
				t.Errorf("%s: user %v sys %v, want %v %v", tt.name, user, sys, tt.user, tt.sys)
			}
		})
	}
}

func TestParseProcStatus(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		rss, hwm int64
		wantErr  error
	}{
		{"both", "Name:\tsipp\nVmHWM:\t   55528 kB\nVmRSS:\t   40000 kB\nThreads:\t3\n", 40000 * 1024, 55528 * 1024, nil},
		{"missing VmHWM", "VmRSS:\t 1 kB\n", 0, 0, ErrBadProcStat},
		{"bad unit", "VmRSS:\t 1 MB\nVmHWM:\t 1 kB\n", 0, 0, ErrBadProcStat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rss, hwm, err := parseProcStatus([]byte(tt.in))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("%s: err = %v, want %v", tt.name, err, tt.wantErr)
			}
			if rss != tt.rss || hwm != tt.hwm {
				t.Errorf("%s: rss %d hwm %d, want %d %d", tt.name, rss, hwm, tt.rss, tt.hwm)
			}
		})
	}
}

func TestReadProcSelf(t *testing.T) {
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS <= 0 || s.HWM < s.RSS {
		t.Errorf("self: RSS %d HWM %d", s.RSS, s.HWM)
	}
}

func TestParseUDPDrops(t *testing.T) {
	const table = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
   53: 0100007F:B8BC 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 747015 2 00000000a2792112 17
  198: 0100007F:B94D 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 748854 2 00000000862e0b02 0
  199: 00000000:B8BC 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 748855 2 00000000862e0b03 99
`
	tests := []struct {
		name string
		port int
		want int64
	}{
		{"loopback socket with drops", 0xB8BC, 17},
		{"no drops", 0xB94D, 0},
		{"no such socket", 5060, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseUDPDrops([]byte(table), tt.port)
			if err != nil || got != tt.want {
				t.Errorf("%s: %d, %v; want %d", tt.name, got, err, tt.want)
			}
		})
	}
}
