package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/anyphone/anyphone/cti/journal"
)

// JournalCmd reads the call journal: anyphone journal list|missed|export|mark-read.
type JournalCmd struct {
	List     JournalListCmd     `cmd:"" help:"List calls, newest first."`
	Missed   JournalMissedCmd   `cmd:"" help:"Unread missed-call count and the missed calls."`
	Export   JournalExportCmd   `cmd:"" help:"Export calls as CSV or JSON."`
	MarkRead JournalMarkReadCmd `cmd:"" name:"mark-read" help:"Mark calls read (every call of --user when no ids are given)."`
}

// journalDB are the flags every journal subcommand shares.
type journalDB struct {
	DB   string `help:"Journal database (default: $XDG_DATA_HOME/anyphone/journal.db)." type:"path" placeholder:"PATH"`
	User string `help:"Only this user's calls (default: every user)."`

	out io.Writer // stdout; tests replace it
}

func (d *journalDB) stdout() io.Writer {
	if d.out == nil {
		return os.Stdout
	}
	return d.out
}

// open opens the journal at --db or the default path.
func (d *journalDB) open() (*journal.Journal, error) {
	path := d.DB
	if path == "" {
		p, err := journal.DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	return journal.Open(path)
}

// journalFilters are the selection flags of list and export.
type journalFilters struct {
	Missed    bool   `help:"Only missed calls." xor:"view"`
	Secondary bool   `help:"Only secondary calls (team, delegate, forwarded, response group, transfer)." xor:"view"`
	Elsewhere bool   `help:"Only calls answered elsewhere." xor:"view"`
	Unread    bool   `help:"Only unread calls."`
	Search    string `help:"Case-insensitive text in names, URIs, numbers or the secondary reason." placeholder:"TEXT"`
	Since     string `help:"Only calls started at or after this time (RFC 3339, or a duration back from now such as 24h)." placeholder:"WHEN"`
	Limit     int    `help:"At most this many calls (0: all)."`
}

func (f *journalFilters) filter(user string, now time.Time) (journal.Filter, error) {
	jf := journal.Filter{User: user, Unread: f.Unread, Search: f.Search, Limit: f.Limit}
	switch {
	case f.Missed:
		jf.View = journal.ViewMissed
	case f.Secondary:
		jf.View = journal.ViewSecondary
	case f.Elsewhere:
		jf.View = journal.ViewAnsweredElsewhere
	}
	if f.Since != "" {
		if d, err := time.ParseDuration(f.Since); err == nil {
			jf.Since = now.Add(-d)
		} else if t, err := time.Parse(time.RFC3339, f.Since); err == nil {
			jf.Since = t
		} else {
			return jf, fmt.Errorf("since: %q is neither RFC 3339 nor a duration", f.Since)
		}
	}
	return jf, nil
}

// JournalListCmd lists calls.
type JournalListCmd struct {
	journalDB
	journalFilters
	JSON bool `help:"Write a JSON array instead of a table." name:"json"`
}

// Run lists the selected calls.
func (c *JournalListCmd) Run(g *Globals) error {
	f, err := c.filter(c.User, time.Now())
	if err != nil {
		return usageError(err)
	}
	j, err := c.open()
	if err != nil {
		return err
	}
	defer j.Close()
	rows, err := j.List(context.Background(), f)
	if err != nil {
		return err
	}
	if c.JSON {
		return writeJSONEntries(c.stdout(), rows)
	}
	return writeTable(c.stdout(), rows)
}

// JournalMissedCmd shows the unread missed-call count and the missed calls.
type JournalMissedCmd struct {
	journalDB
	Unread bool `help:"Only unread missed calls."`
	JSON   bool `help:"Write {\"unread_missed\":N,\"calls\":[...]} instead of text." name:"json"`
}

// Run prints the count and the list.
func (c *JournalMissedCmd) Run(g *Globals) error {
	j, err := c.open()
	if err != nil {
		return err
	}
	defer j.Close()
	ctx := context.Background()
	n, err := j.UnreadMissed(ctx, c.User)
	if err != nil {
		return err
	}
	rows, err := j.List(ctx, journal.Filter{User: c.User, View: journal.ViewMissed, Unread: c.Unread})
	if err != nil {
		return err
	}
	w := c.stdout()
	if c.JSON {
		if rows == nil {
			rows = []journal.Entry{}
		}
		return json.NewEncoder(w).Encode(struct {
			UnreadMissed int             `json:"unread_missed"`
			Calls        []journal.Entry `json:"calls"`
		}{n, rows})
	}
	fmt.Fprintf(w, "%d unread missed call(s)\n", n)
	return writeTable(w, rows)
}

// JournalExportCmd exports calls.
type JournalExportCmd struct {
	journalDB
	journalFilters
	Format string `help:"csv or json." enum:"csv,json" default:"csv"`
	Out    string `help:"Write to this file instead of stdout." type:"path" placeholder:"FILE"`
}

// Run writes the export.
func (c *JournalExportCmd) Run(g *Globals) (err error) {
	f, err := c.filter(c.User, time.Now())
	if err != nil {
		return usageError(err)
	}
	j, err := c.open()
	if err != nil {
		return err
	}
	defer j.Close()
	w := c.stdout()
	if c.Out != "" {
		file, err := os.Create(c.Out)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := file.Close(); err == nil {
				err = cerr
			}
		}()
		w = file
	}
	return j.Export(context.Background(), w, c.Format, f)
}

// JournalMarkReadCmd marks calls read.
type JournalMarkReadCmd struct {
	journalDB
	IDs []int64 `arg:"" optional:"" name:"id" help:"Row ids to mark read (from list)."`
}

// Run marks the ids, or every call of --user ("" for all users), read.
func (c *JournalMarkReadCmd) Run(g *Globals) error {
	j, err := c.open()
	if err != nil {
		return err
	}
	defer j.Close()
	ctx := context.Background()
	if len(c.IDs) > 0 {
		err = j.MarkRead(ctx, c.IDs...)
	} else {
		err = j.MarkAllRead(ctx, c.User)
	}
	if err != nil {
		return err
	}
	n, err := j.UnreadMissed(ctx, c.User)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout(), "%d unread missed call(s)\n", n)
	return nil
}

func writeJSONEntries(w io.Writer, rows []journal.Entry) error {
	if rows == nil {
		rows = []journal.Entry{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rows)
}

// writeTable prints one call a line for people.
func writeTable(w io.Writer, rows []journal.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// USER only when the rows are several users' (a controller's journal)
	users := map[string]bool{}
	for _, e := range rows {
		users[e.User] = true
	}
	user := func(e journal.Entry) string { return "" }
	head := "ID\tSTARTED\tDIR\tOUTCOME\tDURATION\tREMOTE\tWHY\tCODE\tRULE\tDEVICE\tCODEC\t"
	if len(users) > 1 {
		head = "ID\tUSER\tSTARTED\tDIR\tOUTCOME\tDURATION\tREMOTE\tWHY\tCODE\tRULE\tDEVICE\tCODEC\t"
		user = func(e journal.Entry) string { return "\t" + orDash(e.User) }
	}
	fmt.Fprintln(tw, head)
	for _, e := range rows {
		remote := e.Remote.Name
		if who := e.CallBack(); who != "" {
			if remote != "" {
				remote += " "
			}
			remote += "<" + who + ">"
		}
		outcome := e.Outcome.String()
		if e.Missed && !e.Read {
			outcome += " *"
		}
		why := e.Why()
		code := ""
		if e.Code != 0 {
			code = fmt.Sprint(e.Code)
			if e.Q850 != 0 {
				code += fmt.Sprintf(" q850=%d", e.Q850)
			}
		}
		fmt.Fprintf(tw, "%d%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", e.ID, user(e), e.Started.Local().Format("2006-01-02 15:04:05"),
			dirShort(e.Direction.String()), outcome, talked(e), remote, why, code, e.BusyRule, e.Device, e.Codec)
	}
	return errors.Join(tw.Flush())
}

// talked is how long an answered call was talked ("1:05", "1:02:03"), "-"
// for one never answered.
func talked(e journal.Entry) string {
	if e.Answered.IsZero() || e.Ended.Before(e.Answered) {
		return "-"
	}
	d := e.Ended.Sub(e.Answered).Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dirShort(d string) string {
	switch d {
	case "incoming":
		return "in"
	case "outgoing":
		return "out"
	default:
		return strings.TrimSpace(d)
	}
}
