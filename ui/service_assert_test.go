package ui

import "github.com/anyphone/anyphone/cti"

// *cti.Service implements every interface this package defines for what it
// drives. The check lives in a test so that the package itself depends on
// cti/api only and links no SIP library (cti/deps_test.go).
var (
	_ Controller       = (*cti.Service)(nil)
	_ PolicyController = (*cti.Service)(nil)
	_ Journaler        = (*cti.Service)(nil)
	_ ReferAnswerer    = (*cti.Service)(nil)
	_ Transferer       = (*cti.Service)(nil)
	_ HoldWither       = (*cti.Service)(nil)
)
