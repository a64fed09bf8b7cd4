package main

import (
	"errors"

	"github.com/smpkit/smpkit/conformance"
)

// parseTarget turns an smp:// address into a target.
// PLACEHOLDER until the address codec lands.
func parseTarget(addr, password string) (conformance.Target, error) {
	return conformance.Target{}, errors.New("relay addresses are not parsed yet")
}
