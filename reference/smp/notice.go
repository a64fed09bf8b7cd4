package smp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/smpkit/smpkit/reference/wire"
)

// ParseBlockingInfo reads "reason=spam|content" with an optional
// ",notice=<JSON>" that runs to the end (upstream's BlockingInfo strP, as
// the control port's block command takes it).
func ParseBlockingInfo(s []byte) (*BlockingInfo, error) {
	p := wire.NewParser(s)
	bi := parseBlockingInfo(p)
	if err := p.Finish(); err != nil {
		return nil, fmt.Errorf("blocking info: %w", err)
	}
	return bi, nil
}

// ParseClientNotice reads a client notice's JSON (SMP-NOTICE-1) as
// upstream's derived FromJSON (aeson) does, which is stricter and looser
// than encoding/json in different places: the value must be an object
// (null is not one); its key "ttl" matches exactly, and other keys are
// ignored; an absent or null ttl means indefinitely; a ttl is any
// integral JSON number within int64 (3.6e3 too, 1.5 not); white space may
// surround the object, nothing else may.
func ParseClientNotice(j []byte) (*ClientNotice, error) {
	if t := bytes.TrimLeft(j, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, errors.New("client notice: not a JSON object")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(j, &fields); err != nil {
		return nil, fmt.Errorf("client notice: %w", err)
	}
	n := &ClientNotice{}
	raw, ok := fields["ttl"]
	if !ok || string(raw) == "null" {
		return n, nil
	}
	ttl, err := integralInt64(string(raw))
	if err != nil {
		return nil, fmt.Errorf("client notice: ttl %s: %w", raw, err)
	}
	n.TTL = &ttl
	return n, nil
}

// integralInt64 reads a JSON value that must be a number with an integral
// value in int64's range. Exponents beyond ±1024 are refused without
// computing them (no int64 needs one).
func integralInt64(s string) (int64, error) {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return 0, errors.New("not a number")
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return v, nil
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		if e, err := strconv.Atoi(s[i+1:]); err != nil || e > 1024 || e < -1024 {
			return 0, errors.New("exponent out of range")
		}
	}
	var r big.Rat
	if _, ok := r.SetString(s); !ok {
		return 0, errors.New("not a number")
	}
	if !r.IsInt() {
		return 0, errors.New("not an integer")
	}
	if n := r.Num(); n.IsInt64() {
		return n.Int64(), nil
	}
	return 0, errors.New("out of int64 range")
}
