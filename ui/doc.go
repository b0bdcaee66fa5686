// Package ui is anyphone's terminal user interface, built on Bubble Tea v2.
//
// The root Model routes messages to components (header, call list, dial
// line, notice line, help bar, and the panes: SIP ladder, journal, devices,
// settings), each with View, SetSize and ShortHelp/FullHelp. It drives the
// product through Controller, a small interface that *cti.Service
// implements, and follows it through a cti.Subscription read by a re-armed
// tea.Cmd. Update never blocks: every command to the Controller runs inside
// a tea.Cmd that returns a result message. Optional interfaces of the Controller (Transferer,
// PolicyController, Journaler, HoldWither, ReferAnswerer) switch on the
// keys and panes that need them; Options.Devices is the AnyDevice side
// (with DeviceEditor, E edits a device's number or URI). The dial line
// completes the journal's recent numbers and URIs before the contacts.
//
// ui may import cti, audio and the charm libraries; it must not import
// phone, sipgo, diago or pion.
package ui
