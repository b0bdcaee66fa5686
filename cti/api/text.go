package api

import (
	"bufio"
	"io"
	"strings"
)

// WriteText writes a ladder as sngrep's "save as txt" does: per message a
// header line with the date and time (microseconds), the source and the
// destination address, then the raw message and an empty line.
func WriteText(w io.Writer, msgs []SIPMessage) error {
	bw := bufio.NewWriter(w)
	for _, m := range msgs {
		src, dst := m.Local, m.Remote
		if !m.Sent {
			src, dst = dst, src
		}
		raw := strings.TrimRight(strings.ReplaceAll(m.Raw, "\r\n", "\n"), "\n")
		bw.WriteString(m.Time.Format("2006/01/02 15:04:05.000000") + " " + orUnknown(src) + " -> " + orUnknown(dst) + "\n")
		bw.WriteString(raw + "\n\n")
	}
	return bw.Flush()
}

func orUnknown(addr string) string {
	if addr == "" {
		return "?"
	}
	return addr
}
