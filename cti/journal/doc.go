// Package journal is the call journal: one row per call per user in an
// embedded SQLite database (pure-Go driver modernc.org/sqlite, WAL mode),
// with missed-call tracking (unread count, mark read), search and filters,
// CSV and JSON export, and retention.
//
// A row is keyed by (user, key), where key is the SIP Call-ID with the
// caller's From tag unless the caller supplies one, so the same call seen
// twice (two devices, a retransmitted event) updates one row: Record is an
// upsert that merges what each sighting knows.
//
// Durability: the database runs in WAL mode with synchronous=NORMAL. A
// transaction is committed once its frames are written to the WAL file;
// NORMAL only skips the fsync at commit. A killed process (kill -9) cannot
// lose written data, since it is in the OS page cache, so no committed row
// is lost; only a power failure or OS crash can lose the last transactions
// before a checkpoint, and never corrupts the file. The crash test
// (TestJournalSurvivesKill) checks the first half.
//
// journal imports phone/vocab for the call data model (Direction, Party,
// SecondaryKind, EndInfo). It must not import ui, cti, phone, sipgo or
// diago, directly or through another package (cti/deps_test.go checks with
// go list -deps).
package journal
