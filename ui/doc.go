// Package ui is anyphone's terminal user interface, built on Bubble Tea v2.
//
// The root Model routes messages to components (header, call list, dial
// line, notice line, help bar, and the panes: SIP ladder, journal, devices,
// settings), each with View, SetSize and ShortHelp/FullHelp. It drives the
// product through Controller, a small interface that *cti.Service
// implements, and follows it through an api.Subscription read by a re-armed
// tea.Cmd. Update never blocks: every command to the Controller runs inside
// a tea.Cmd that returns a result message. Optional interfaces of the
// Controller (Transferer, PolicyController, Journaler, HoldWither,
// ReferAnswerer, DeviceController, DeviceEditor) switch on the keys and
// panes that need them: DeviceController is the AnyDevice side (the devices
// pane; the calls on other devices are the Controller's own calls), with
// DeviceEditor E edits a device's number or URI. The dial line completes
// the journal's recent numbers and URIs before the contacts.
//
// ui speaks the words of cti/api (events, call data, Snapshot); it may
// import cti/api, cti/busy, cti/journal, audio and the charm libraries. It
// must not import cti itself, phone, sipgo, diago or pion, directly or
// through another package (cti/deps_test.go checks with go list -deps); the
// check that *cti.Service implements Controller is a test.
package ui
