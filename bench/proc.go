//go:build linux

package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of utime and stime in /proc/PID/stat. It is
// 100 on every Linux this runs on (getconf CLK_TCK); Go has no sysconf
// without cgo.
const clockTick = 10 * time.Millisecond

// ProcSample is one reading of a process: CPU used so far (user + system,
// all threads) and its resident memory now and at its peak.
type ProcSample struct {
	At  time.Time
	CPU time.Duration // user + system
	Sys time.Duration // system (kernel) part of CPU
	RSS int64         // bytes, VmRSS
	HWM int64         // bytes, VmHWM (peak RSS)
}

// ReadProc samples process pid from /proc.
func ReadProc(pid int) (ProcSample, error) {
	s := ProcSample{At: time.Now()}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, err
	}
	var user time.Duration
	if user, s.Sys, err = parseProcStat(b); err != nil {
		return s, err
	}
	s.CPU = user + s.Sys
	b, err = os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	s.RSS, s.HWM, err = parseProcStatus(b)
	return s, err
}

// parseProcStat returns utime and stime from the contents of /proc/PID/stat.
// The command name (field 2) may hold spaces and parentheses, so fields are
// counted after the last ')'.
func parseProcStat(b []byte) (user, sys time.Duration, err error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, ErrBadProcStat
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("%w: %d fields", ErrBadProcStat, len(f)+2)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%w: utime %q stime %q", ErrBadProcStat, f[11], f[12])
	}
	return time.Duration(ut) * clockTick, time.Duration(st) * clockTick, nil
}

// parseProcStatus returns VmRSS and VmHWM in bytes from /proc/PID/status.
func parseProcStatus(b []byte) (rss, hwm int64, err error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, 0, fmt.Errorf("%w: %s:%s", ErrBadProcStat, k, v)
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%w: %s: %w", ErrBadProcStat, k, err)
		}
		if k == "VmRSS" {
			rss = n * 1024
		} else {
			hwm = n * 1024
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("%w: no VmRSS/VmHWM", ErrBadProcStat)
	}
	return rss, hwm, nil
}

// UDPDrops returns the datagrams the kernel dropped on the UDP sockets
// bound to 127.0.0.1:port because their receive buffer was full (the
// "drops" column of /proc/net/udp).
func UDPDrops(port int) (int64, error) {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0, err
	}
	return parseUDPDrops(b, port)
}

func parseUDPDrops(b []byte, port int) (int64, error) {
	want := fmt.Sprintf("0100007F:%04X", port)
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 13 || f[1] != want {
			continue
		}
		n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: udp drops %q", ErrBadProcStat, f[len(f)-1])
		}
		total += n
	}
	return total, sc.Err()
}
