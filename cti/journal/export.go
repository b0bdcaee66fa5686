package journal

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Export formats.
const (
	FormatCSV  = "csv"
	FormatJSON = "json"
)

// csvHeader is the first CSV row; one column per Entry field, times in
// RFC 3339 UTC with milliseconds, empty when unset.
var csvHeader = []string{
	"id", "user", "direction", "started", "answered", "ended", "outcome", "missed", "read",
	"remote_name", "remote_uri", "remote_number", "local_name", "local_uri", "local_number",
	"secondary", "secondary_text", "code", "phrase", "q850", "busy_rule", "device", "sip_call_id", "note",
}

// Export writes the entries f selects to w, newest first, as "csv" (a
// header row, then one row per call) or "json" (one JSON array of Entry).
// It streams: the journal is not loaded into memory. Unknown formats return
// ErrBadFormat before anything is written.
func (j *Journal) Export(ctx context.Context, w io.Writer, format string, f Filter) error {
	switch format {
	case FormatCSV:
		return j.exportCSV(ctx, w, f)
	case FormatJSON:
		return j.exportJSON(ctx, w, f)
	default:
		return fmt.Errorf("%w: %q", ErrBadFormat, format)
	}
}

func (j *Journal) exportCSV(ctx context.Context, w io.Writer, f Filter) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("journal: export: %w", err)
	}
	err := j.each(ctx, f, func(e Entry) error {
		return cw.Write([]string{
			strconv.FormatInt(e.ID, 10), e.User, e.Direction.String(),
			csvTime(e.Started), csvTime(e.Answered), csvTime(e.Ended),
			e.Outcome.String(), strconv.FormatBool(e.Missed), strconv.FormatBool(e.Read),
			e.Remote.Name, e.Remote.URI, e.Remote.Number, e.Local.Name, e.Local.URI, e.Local.Number,
			e.Secondary.String(), e.SecondaryText, csvInt(e.Code), e.Phrase, csvInt(e.Q850),
			e.BusyRule, e.Device, e.SIPCallID, e.Note,
		})
	})
	if err != nil {
		return fmt.Errorf("journal: export: %w", err)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("journal: export: %w", err)
	}
	return nil
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

func csvInt(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func (j *Journal) exportJSON(ctx context.Context, w io.Writer, f Filter) error {
	if _, err := io.WriteString(w, "["); err != nil {
		return fmt.Errorf("journal: export: %w", err)
	}
	first := true
	err := j.each(ctx, f, func(e Entry) error {
		b, err := json.Marshal(exportEntry(e))
		if err != nil {
			return err
		}
		sep := ",\n"
		if first {
			sep, first = "\n", false
		}
		if _, err := io.WriteString(w, sep); err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("journal: export: %w", err)
	}
	end := "\n]\n"
	if first {
		end = "]\n"
	}
	if _, err := io.WriteString(w, end); err != nil {
		return fmt.Errorf("journal: export: %w", err)
	}
	return nil
}

// jsonEntry is Entry with the direction as text (phone.Direction has no
// MarshalText).
type jsonEntry struct {
	Entry
	Direction string `json:"direction"`
}

func exportEntry(e Entry) jsonEntry { return jsonEntry{Entry: e, Direction: e.Direction.String()} }
