// Package interop holds the interoperability tests of anyphone against real
// third-party SIP peers on loopback: sipp, baresip and kamailio. The tests
// run the built binary (ANYPHONE_BIN) as `anyphone endpoint`, start every
// peer on 127.0.0.1 on free ports, and stop it when the test ends. `make test`
// installs the peers and builds the binary; a missing peer or binary fails
// the tests (it never skips them), except under `go test -short`.
//
// The package has no non-test code; it must not be imported.
package interop
