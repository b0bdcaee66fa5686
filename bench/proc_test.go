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
