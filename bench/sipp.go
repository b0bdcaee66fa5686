//go:build linux

package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"
)

// SippLoad is one sipp UAC run against a SUT with the built-in uac scenario.
type SippLoad struct {
	Target   string // host:port
	User     string // request-URI user (-s)
	Rate     int    // calls per second (-r)
	Calls    int    // total calls (-m)
	Limit    int    // concurrent calls (-l)
	HoldMS   int    // call length (-d): 0 hangs up at once
	Timeout  time.Duration
	StatFile string // -stf
	LogFile  string
}

// Args returns the sipp command line (BENCHMARKS.md, with a 4 MB socket
// buffer: without it sipp itself overflows near 3,200 calls/s).
func (l SippLoad) Args(port, mediaPort int) []string {
	limit := l.Limit
	if limit == 0 {
		limit = 20000
	}
	return []string{"-sn", "uac", l.Target, "-s", l.User, "-i", "127.0.0.1",
		"-p", strconv.Itoa(port), "-mp", strconv.Itoa(mediaPort),
		"-r", strconv.Itoa(l.Rate), "-m", strconv.Itoa(l.Calls), "-l", strconv.Itoa(limit),
		"-d", strconv.Itoa(l.HoldMS), "-buff_size", "4194304", "-nostdin",
		"-trace_stat", "-stf", l.StatFile, "-fd", "1",
		"-timeout", fmt.Sprintf("%ds", int(l.Timeout.Seconds())), "-timeout_error",
		"-max_socket", "60000"}
}

// Start starts the UAC; the caller waits for it or stops it.
func (l SippLoad) Start(dir string) (*Proc, error) {
	base, err := FreePorts(5)
	if err != nil {
		return nil, err
	}
	if l.LogFile == "" {
		l.LogFile = filepath.Join(dir, "sipp-uac.log")
	}
	return StartProc("sipp-uac", l.LogFile, nil, "sipp", l.Args(base, base+1)...)
}

// Run runs the UAC to its end (or ctx's) and returns its final counters
// and how long it ran.
func (l SippLoad) Run(ctx context.Context, dir string) (SippTotals, time.Duration, error) {
	p, err := l.Start(dir)
	if err != nil {
		return SippTotals{}, 0, err
	}
	start := time.Now()
	werr := p.Wait(ctx)
	took := time.Since(start)
	st, err := ReadSippStat(l.StatFile)
	if err != nil {
		return SippTotals{}, took, fmt.Errorf("sipp uac (exit %v): %w", werr, err)
	}
	t, err := st.Totals()
	return t, took, err
}
