package smp

// PLACEHOLDER: the commands helper replaces this file with the full ERR tree
// (PROXY / BROKER / TRANSPORT / NETWORK / BLOCKED), its binary encoding and
// its parser.

// ProxyError is the detail of ERR PROXY.
type ProxyError struct{}

// BlockingInfo is the detail of ERR BLOCKED.
type BlockingInfo struct{}

// String is the wire text of the error, e.g. "CMD SYNTAX".
func (e ErrorType) String() string {
	if e.Kind == ErrCMD {
		return string(e.Kind) + " " + string(e.Cmd)
	}
	return string(e.Kind)
}
