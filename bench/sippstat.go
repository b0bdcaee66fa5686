//go:build linux

package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// SippStat is the last line of a sipp -trace_stat file keyed by the header's
// column names, e.g. "FailedCall(C)", "Retransmissions(C)". Columns ending
// in (C) are cumulative, (P) periodic.
type SippStat map[string]string

// ReadSippStat reads a sipp statistics file (-stf).
func ReadSippStat(path string) (SippStat, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseSippStat(f)
}

// ParseSippStat parses sipp 3.6.1's semicolon-separated statistics: a
// header line, then one line per dump; it keeps the last.
func ParseSippStat(r io.Reader) (SippStat, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	var header, last []string
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Split(line, ";")
		if header == nil {
			header = f
			continue
		}
		last = f
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if last == nil {
		return nil, ErrNoData
	}
	s := SippStat{}
	for i, name := range header {
		if name = strings.TrimSpace(name); name != "" && i < len(last) {
			s[name] = strings.TrimSpace(last[i])
		}
	}
	return s, nil
}

// Int returns a numeric column.
func (s SippStat) Int(name string) (int, error) {
	v, ok := s[name]
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrNoColumn, name)
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("sipp column %s: %w", name, err)
	}
	return n, nil
}

// SippTotals are the cumulative counters a rate step is judged by.
type SippTotals struct {
	Created         int // TotalCallCreated
	Successful      int // SuccessfulCall(C)
	Failed          int // FailedCall(C)
	Retransmissions int // Retransmissions(C)
	Dead            int // DeadCallMsgs(C): messages for calls already gone
}

// Totals extracts the cumulative counters.
func (s SippStat) Totals() (SippTotals, error) {
	var t SippTotals
	for _, c := range []struct {
		name string
		dst  *int
	}{
		{"TotalCallCreated", &t.Created},
		{"SuccessfulCall(C)", &t.Successful},
		{"FailedCall(C)", &t.Failed},
		{"Retransmissions(C)", &t.Retransmissions},
		{"DeadCallMsgs(C)", &t.Dead},
	} {
		n, err := s.Int(c.name)
		if err != nil {
			return t, err
		}
		*c.dst = n
	}
	return t, nil
}
