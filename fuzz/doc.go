// Package fuzz holds the go test -fuzz targets for every smpkit parser. Each
// target is seeded from the committed vector files, so the fuzzer starts from
// every valid and invalid case the spec names. Run one with e.g.
//
//	go test ./fuzz -run='^$' -fuzz='^FuzzTransmission$' -fuzztime=60s
//
// Without -fuzz, go test runs each target once over its seeds.
package fuzz
