//go:build !linux

package sipguard

import (
	"errors"
	"net"
	"time"
)

func enableRxTimestamps(*net.UDPConn) error {
	return errors.New("receive timestamps are implemented for Linux only")
}

func rxTimestamp([]byte) (time.Time, bool) { return time.Time{}, false }
