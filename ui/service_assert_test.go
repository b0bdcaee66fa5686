package ui

import (
	"github.com/anyphone/anyphone/cti"
	"github.com/anyphone/anyphone/cti/ctl"
)

// *cti.Service implements every interface this package defines for what it
// drives; ctl.Remote (the TUI attached to a shared controller) the
// Controller and its AnyDevice side. The check lives in a test so that the
// package itself depends on cti/api only and links no SIP library
// (cti/deps_test.go).
var (
	_ Controller       = (*cti.Service)(nil)
	_ PolicyController = (*cti.Service)(nil)
	_ Journaler        = (*cti.Service)(nil)
	_ ReferAnswerer    = (*cti.Service)(nil)
	_ Transferer       = (*cti.Service)(nil)
	_ HoldWither       = (*cti.Service)(nil)
	_ DeviceController = (*cti.Service)(nil)
	_ DeviceEditor     = (*cti.Service)(nil)

	_ Controller       = (*ctl.Remote)(nil)
	_ Transferer       = (*ctl.Remote)(nil)
	_ DeviceController = (*ctl.Remote)(nil)
	_ DeviceEditor     = (*ctl.Remote)(nil)
)
