//go:build linux

package bench

import (
	"errors"
	"fmt"
)

var (
	// ErrNoColumn is returned when a sipp statistics file lacks a column.
	ErrNoColumn = errors.New("bench: no such column in sipp statistics")
	// ErrNoData is returned when a sipp statistics file has no data line.
	ErrNoData = errors.New("bench: sipp statistics hold no data line")
	// ErrTimeout is returned when a SIP transaction got no final response.
	ErrTimeout = errors.New("bench: no final response")
	// ErrClosed is returned by a UAC that has been closed.
	ErrClosed = errors.New("bench: client closed")
	// ErrBadProcStat is returned when /proc/PID/stat cannot be parsed.
	ErrBadProcStat = errors.New("bench: malformed /proc stat")
)

// RejectedError is a non-2xx final response to an INVITE or BYE.
type RejectedError struct {
	Method string
	Code   int
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("bench: %s answered %d", e.Method, e.Code)
}
