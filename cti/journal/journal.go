package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver

	"github.com/anyphone/anyphone/phone/vocab"
)

// migrations are applied in order; migration i (0-based) brings the schema
// to version i+1. Never edit one that has shipped: append a new one.
var migrations = []string{
	// 1: the calls table.
	`CREATE TABLE calls (
		id             INTEGER PRIMARY KEY,
		user           TEXT    NOT NULL,
		key            TEXT    NOT NULL,
		sip_call_id    TEXT    NOT NULL DEFAULT '',
		from_tag       TEXT    NOT NULL DEFAULT '',
		direction      TEXT    NOT NULL,
		local_name     TEXT    NOT NULL DEFAULT '',
		local_uri      TEXT    NOT NULL DEFAULT '',
		local_number   TEXT    NOT NULL DEFAULT '',
		remote_name    TEXT    NOT NULL DEFAULT '',
		remote_uri     TEXT    NOT NULL DEFAULT '',
		remote_number  TEXT    NOT NULL DEFAULT '',
		secondary      TEXT    NOT NULL DEFAULT 'none',
		secondary_text TEXT    NOT NULL DEFAULT '',
		started_ms     INTEGER NOT NULL DEFAULT 0,
		answered_ms    INTEGER NOT NULL DEFAULT 0,
		ended_ms       INTEGER NOT NULL DEFAULT 0,
		outcome        TEXT    NOT NULL DEFAULT 'unknown',
		code           INTEGER NOT NULL DEFAULT 0,
		phrase         TEXT    NOT NULL DEFAULT '',
		q850           INTEGER NOT NULL DEFAULT 0,
		busy_rule      TEXT    NOT NULL DEFAULT '',
		device         TEXT    NOT NULL DEFAULT '',
		missed         INTEGER NOT NULL DEFAULT 0,
		read           INTEGER NOT NULL DEFAULT 0,
		UNIQUE (user, key)
	);
	CREATE INDEX calls_user_started ON calls (user, started_ms DESC, id DESC);
	CREATE INDEX calls_user_missed ON calls (user, missed, read);`,
	// 2: what happened beyond the outcome (redirects followed, the BYE's
	// Reason, ms-diagnostics).
	`ALTER TABLE calls ADD COLUMN note TEXT NOT NULL DEFAULT '';`,
	// 3: the SRTP crypto-suite that protected the media ('' in clear).
	`ALTER TABLE calls ADD COLUMN srtp TEXT NOT NULL DEFAULT '';`,
	// 4: the audio codec (Entry.Codec).
	`ALTER TABLE calls ADD COLUMN codec TEXT NOT NULL DEFAULT '';`,
}

// Journal is an open call journal. It is safe for concurrent use; writes
// are serialised by SQLite (BEGIN IMMEDIATE, busy_timeout), so several
// processes may share one file.
type Journal struct {
	db *sql.DB
}

// DefaultPath is where the journal lives: $XDG_DATA_HOME/anyphone/journal.db,
// falling back to ~/.local/share/anyphone/journal.db (XDG Base Directory
// specification).
func DefaultPath() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("journal: default path: %w", err)
		}
		dir = filepath.Join(home, ".local", "share")
	}
	return filepath.Join(dir, "anyphone", "journal.db"), nil
}

// dsn builds the modernc.org/sqlite DSN: WAL, synchronous=NORMAL (see the
// package doc for why that keeps committed rows across kill -9), a busy
// timeout for concurrent writers, and BEGIN IMMEDIATE transactions so a
// read-then-write upsert never fails with SQLITE_BUSY half way.
func dsn(path string) string {
	r := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")
	return "file:" + r.Replace(path) +
		"?_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_txlock=immediate"
}

// Open opens or creates the journal at path (creating its directory) and
// brings its schema up to date. It returns ErrSchemaTooNew for a database
// from a newer version.
func Open(path string) (*Journal, error) {
	return openWith(context.Background(), path, migrations)
}

func openWith(ctx context.Context, path string, migs []string) (*Journal, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	if err := migrate(ctx, db, migs); err != nil {
		db.Close()
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	return &Journal{db: db}, nil
}

// migrate applies the migrations the database has not seen, each in its
// own transaction with its version bump.
func migrate(ctx context.Context, db *sql.DB, migs []string) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("schema_version: %w", err)
	}
	for {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var v int
		err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				tx.Rollback()
				return err
			}
		case err != nil:
			tx.Rollback()
			return err
		}
		if v > len(migs) {
			tx.Rollback()
			return fmt.Errorf("version %d, know %d: %w", v, len(migs), ErrSchemaTooNew)
		}
		if v == len(migs) {
			return tx.Commit()
		}
		if _, err := tx.ExecContext(ctx, migs[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, v+1); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
	}
}

// SchemaVersion returns the schema version of the open database.
func (j *Journal) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := j.db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	return v, err
}

// Close closes the database.
func (j *Journal) Close() error { return j.db.Close() }

const entryCols = `id, user, key, sip_call_id, from_tag, direction,
	local_name, local_uri, local_number, remote_name, remote_uri, remote_number,
	secondary, secondary_text, started_ms, answered_ms, ended_ms,
	outcome, code, phrase, q850, busy_rule, device, missed, read, note, srtp, codec`

type scanner interface{ Scan(dest ...any) error }

func scanEntry(s scanner) (Entry, error) {
	var (
		e                      Entry
		dir, sec, outcome      string
		started, answered, end int64
	)
	err := s.Scan(&e.ID, &e.User, &e.Key, &e.SIPCallID, &e.FromTag, &dir,
		&e.Local.Name, &e.Local.URI, &e.Local.Number, &e.Remote.Name, &e.Remote.URI, &e.Remote.Number,
		&sec, &e.SecondaryText, &started, &answered, &end,
		&outcome, &e.Code, &e.Phrase, &e.Q850, &e.BusyRule, &e.Device, &e.Missed, &e.Read, &e.Note, &e.SRTP, &e.Codec)
	if err != nil {
		return Entry{}, err
	}
	e.Direction = parseDirection(dir)
	_ = e.Secondary.UnmarshalText([]byte(sec)) // unknown kinds read as none
	_ = e.Outcome.UnmarshalText([]byte(outcome))
	e.Started, e.Answered, e.Ended = fromMillis(started), fromMillis(answered), fromMillis(end)
	return e, nil
}

func parseDirection(s string) vocab.Direction {
	switch s {
	case vocab.Incoming.String():
		return vocab.Incoming
	case vocab.Outgoing.String():
		return vocab.Outgoing
	default:
		return vocab.DirectionUnknown
	}
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Record stores a call: it inserts a row or, when the journal already has
// this call for this user (same Key), merges the new sighting into it (see
// Entry). It returns the row id. Times are stored to the millisecond.
// Record returns ErrNoKey when the entry has no user, or neither a key nor
// a SIP Call-ID.
func (j *Journal) Record(ctx context.Context, e Entry) (int64, error) {
	if e.Key == "" {
		e.Key = DedupeKey(e.SIPCallID, e.FromTag)
	}
	if e.User == "" || e.Key == "" {
		return 0, ErrNoKey
	}
	tx, err := j.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("journal: record: %w", err)
	}
	defer tx.Rollback()
	old, err := scanEntry(tx.QueryRowContext(ctx, `SELECT `+entryCols+` FROM calls WHERE user = ? AND key = ?`, e.User, e.Key))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		e.Missed = e.IsMissed()
		res, err := tx.ExecContext(ctx, `INSERT INTO calls (`+entryCols[len("id, "):]+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, entryArgs(e)...)
		if err != nil {
			return 0, fmt.Errorf("journal: record: %w", err)
		}
		if e.ID, err = res.LastInsertId(); err != nil {
			return 0, fmt.Errorf("journal: record: %w", err)
		}
	case err != nil:
		return 0, fmt.Errorf("journal: record: %w", err)
	default:
		e = merge(old, e)
		e.Missed = e.IsMissed()
		args := append(entryArgs(e), e.ID)
		if _, err := tx.ExecContext(ctx, `UPDATE calls SET user = ?, key = ?, sip_call_id = ?, from_tag = ?, direction = ?,
			local_name = ?, local_uri = ?, local_number = ?, remote_name = ?, remote_uri = ?, remote_number = ?,
			secondary = ?, secondary_text = ?, started_ms = ?, answered_ms = ?, ended_ms = ?,
			outcome = ?, code = ?, phrase = ?, q850 = ?, busy_rule = ?, device = ?, missed = ?, read = ?, note = ?, srtp = ?, codec = ?
			WHERE id = ?`, args...); err != nil {
			return 0, fmt.Errorf("journal: record: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("journal: record: %w", err)
	}
	return e.ID, nil
}

func entryArgs(e Entry) []any {
	return []any{e.User, e.Key, e.SIPCallID, e.FromTag, e.Direction.String(),
		e.Local.Name, e.Local.URI, e.Local.Number, e.Remote.Name, e.Remote.URI, e.Remote.Number,
		e.Secondary.String(), e.SecondaryText, millis(e.Started), millis(e.Answered), millis(e.Ended),
		e.Outcome.String(), e.Code, e.Phrase, e.Q850, e.BusyRule, e.Device, e.Missed, e.Read, e.Note, e.SRTP, e.Codec}
}

// View selects a kind of call in a Filter.
type View int

const (
	ViewAll               View = iota // every call
	ViewMissed                        // missed calls (Entry.IsMissed)
	ViewSecondary                     // secondary calls (team, delegate, forwarded, ...)
	ViewAnsweredElsewhere             // calls answered on another device or by someone else
	ViewIncoming                      // incoming calls
	ViewOutgoing                      // outgoing calls
)

// Filter selects journal entries. The zero value is every call of every
// user, newest first.
type Filter struct {
	User   string    // "" for all users
	View   View      // which calls
	Unread bool      // only unread entries
	Search string    // case-insensitive substring of names, URIs, numbers, secondary text
	Since  time.Time // started at or after, if set
	Before time.Time // started before, if set
	Limit  int       // at most this many; 0 for no limit
	Offset int       // skip this many (paging)
}

func (f Filter) where() (string, []any) {
	var (
		conds []string
		args  []any
	)
	if f.User != "" {
		conds, args = append(conds, "user = ?"), append(args, f.User)
	}
	switch f.View {
	case ViewMissed:
		conds = append(conds, "missed = 1")
	case ViewSecondary:
		conds = append(conds, "secondary <> 'none'")
	case ViewAnsweredElsewhere:
		conds, args = append(conds, "outcome = ?"), append(args, OutcomeAnsweredElsewhere.String())
	case ViewIncoming:
		conds, args = append(conds, "direction = ?"), append(args, vocab.Incoming.String())
	case ViewOutgoing:
		conds, args = append(conds, "direction = ?"), append(args, vocab.Outgoing.String())
	}
	if f.Unread {
		conds = append(conds, "read = 0")
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		like := "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
		var ors []string
		for _, c := range []string{"remote_name", "remote_uri", "remote_number", "local_name", "local_uri", "local_number", "secondary_text"} {
			ors = append(ors, c+` LIKE ? ESCAPE '\'`)
			args = append(args, like)
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if !f.Since.IsZero() {
		conds, args = append(conds, "started_ms >= ?"), append(args, f.Since.UnixMilli())
	}
	if !f.Before.IsZero() {
		conds, args = append(conds, "started_ms < ?"), append(args, f.Before.UnixMilli())
	}
	if len(conds) == 0 {
		return "", args
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// List returns the entries f selects, newest first.
func (j *Journal) List(ctx context.Context, f Filter) ([]Entry, error) {
	var out []Entry
	err := j.each(ctx, f, func(e Entry) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

func (j *Journal) each(ctx context.Context, f Filter, fn func(Entry) error) error {
	where, args := f.where()
	q := `SELECT ` + entryCols + ` FROM calls` + where + ` ORDER BY started_ms DESC, id DESC`
	if f.Limit > 0 || f.Offset > 0 {
		limit := f.Limit
		if limit <= 0 {
			limit = -1
		}
		q += ` LIMIT ? OFFSET ?`
		args = append(args, limit, max(f.Offset, 0))
	}
	rows, err := j.db.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("journal: list: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return fmt.Errorf("journal: list: %w", err)
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("journal: list: %w", err)
	}
	return nil
}

// UnreadMissed counts the unread missed calls of user ("" for all users).
func (j *Journal) UnreadMissed(ctx context.Context, user string) (int, error) {
	q := `SELECT count(*) FROM calls WHERE missed = 1 AND read = 0`
	args := []any{}
	if user != "" {
		q += ` AND user = ?`
		args = append(args, user)
	}
	var n int
	if err := j.db.QueryRowContext(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("journal: unread missed: %w", err)
	}
	return n, nil
}

// MarkRead marks the entries with the given ids read. Unknown ids are
// ignored.
func (j *Journal) MarkRead(ctx context.Context, ids ...int64) error {
	return j.MarkReadFor(ctx, "", ids...)
}

// MarkReadFor marks the entries with the given ids read that belong to
// user ("" for any user): a user of a shared journal cannot touch another
// user's entries. Unknown and foreign ids are ignored.
func (j *Journal) MarkReadFor(ctx context.Context, user string, ids ...int64) error {
	if len(ids) == 0 {
		return nil
	}
	args := make([]any, len(ids), len(ids)+1)
	for i, id := range ids {
		args[i] = id
	}
	q := `UPDATE calls SET read = 1 WHERE id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
	if user != "" {
		q += ` AND user = ?`
		args = append(args, user)
	}
	if _, err := j.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("journal: mark read: %w", err)
	}
	return nil
}

// MarkAllRead marks every entry of user ("" for all users) read.
func (j *Journal) MarkAllRead(ctx context.Context, user string) error {
	q := `UPDATE calls SET read = 1 WHERE read = 0`
	args := []any{}
	if user != "" {
		q += ` AND user = ?`
		args = append(args, user)
	}
	if _, err := j.db.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("journal: mark all read: %w", err)
	}
	return nil
}

// Prune deletes calls that started before olderThan and returns how many;
// it implements the retention setting (see Retention).
func (j *Journal) Prune(ctx context.Context, olderThan time.Time) (int64, error) {
	res, err := j.db.ExecContext(ctx, `DELETE FROM calls WHERE started_ms < ?`, olderThan.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("journal: prune: %w", err)
	}
	return res.RowsAffected()
}

// DefaultRetention is how long calls are kept when no retention is set.
const DefaultRetention = 365 * 24 * time.Hour

// Retention is the journal's retention setting: calls older than this are
// pruned. The zero value means DefaultRetention; a negative value keeps
// calls forever.
type Retention time.Duration

// Cutoff returns the olderThan argument for Prune at now, and false when
// nothing should be pruned.
func (r Retention) Cutoff(now time.Time) (time.Time, bool) {
	switch {
	case r < 0:
		return time.Time{}, false
	case r == 0:
		return now.Add(-DefaultRetention), true
	default:
		return now.Add(-time.Duration(r)), true
	}
}

// IntegrityCheck runs PRAGMA integrity_check and returns its first line,
// "ok" for a sound database.
func (j *Journal) IntegrityCheck(ctx context.Context) (string, error) {
	var s string
	err := j.db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&s)
	return s, err
}
