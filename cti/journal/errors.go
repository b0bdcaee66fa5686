package journal

import "errors"

var (
	// ErrNoKey is returned by Record for an entry without a key, SIP
	// Call-ID or user.
	ErrNoKey = errors.New("journal: entry has no user or key")
	// ErrSchemaTooNew is returned by Open for a database written by a newer
	// anyphone than this one.
	ErrSchemaTooNew = errors.New("journal: database schema is newer than this program")
	// ErrBadFormat is returned by Export for a format other than csv or json.
	ErrBadFormat = errors.New("journal: unknown export format")
)
