// Package anydevice is the AnyDevice controller: a back-to-back user agent
// on one dedicated *phone.Phone that lets a user telephone from any device
// (desk softphone, mobile, home line, any number or SIP URI) while the call
// stays anchored in the controller.
//
// It owns:
//   - callback sessions (Controller.Callback): leg A rings the user's active
//     device showing the destination, the device hears a generated ringback
//     (then the destination's early media) while leg B rings the destination
//     as the user's office number in From and P-Asserted-Identity
//     (One-Number, only the user's own numbers);
//   - follow-me and simultaneous ring for incoming calls to the user's
//     number: devices rung at once or staged by per-device delay, first
//     answer wins, the losers get CANCEL with
//     Reason: SIP;cause=200;text="Call completed elsewhere", secondary legs
//     carry History-Info, a decline on one device does not end the call
//     while others ring, a fast-answer guard against carrier voicemail,
//     voicemail after the timeout;
//   - our own relay between the legs (Bridge, at PCM level: codecs align by
//     construction, DTMF crosses as events in the far leg's payload type,
//     hold crosses in the far leg's dialect, teardown is linked and carries
//     Reason headers) instead of diago's Bridge (LIBRARIES §2.9, defects
//     #16, #17);
//   - CTI control of bridged calls: hold, resume, hang up, move between
//     devices without the remote party noticing;
//   - channel accounting and security: per-user tokens, own devices and
//     numbers only, a dial policy (patterns, premium, international,
//     concurrency, rate); every refusal is an event with its rule.
//
// anydevice imports phone and audio, never cti, ui or SIP libraries
// (deps_test.go); cti may embed a Controller.
package anydevice
