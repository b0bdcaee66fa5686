// Package bench holds `make bench`: Go benchmarks that drive external
// processes (sipp, baresip and the anyphone binary) on 127.0.0.1 and compare
// them back to back in one run. Each Benchmark runs once (-benchtime 1x),
// reports its figures with b.ReportMetric, and TestMain prints one table
// with ratios at the end. docs/benchmarks.md explains the method.
//
// The non-test files hold the measuring tools: /proc sampling, the sipp
// statistics reader, a minimal SIP UDP client with kernel receive
// timestamps, an RTP capture socket, percentiles and the result table.
//
// It imports cti and cti/endpoint only for the in-process CPU profile; it
// must not import ui, sipgo, diago or pion (only phone may).
package bench
