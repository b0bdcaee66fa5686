package ui

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// Contact is a name the dial line completes and resolves to an address.
type Contact struct {
	Name string // what the user types, e.g. "echo" or "Alice"
	URI  string // what is dialled, e.g. sip:echo@127.0.0.1:5062 or 1001
}

// ParseContacts reads a contacts file: one contact a line, the name, then
// whitespace, then the number or SIP URI; blank lines and lines starting
// with # are skipped. Names with spaces are quoted: "Alice Smith" 1001.
func ParseContacts(r io.Reader) ([]Contact, error) {
	var out []Contact
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var name, rest string
		if strings.HasPrefix(line, `"`) {
			end := strings.Index(line[1:], `"`)
			if end < 0 {
				return out, fmt.Errorf("contacts line %d: unterminated quote", n)
			}
			name, rest = line[1:1+end], strings.TrimSpace(line[2+end:])
		} else {
			f := strings.Fields(line)
			name = f[0]
			rest = strings.TrimSpace(strings.TrimPrefix(line, f[0]))
		}
		if name == "" || rest == "" || strings.ContainsAny(rest, " \t") {
			return out, fmt.Errorf("contacts line %d: want NAME NUMBER-OR-URI", n)
		}
		out = append(out, Contact{Name: name, URI: rest})
	}
	return out, sc.Err()
}
