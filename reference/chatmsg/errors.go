package chatmsg

import (
	"errors"
	"fmt"
)

// Error kinds, named as in spec/chat.md §9. Callers branch with errors.Is;
// vectors name the kind in their "error" field.
var (
	ErrEmpty       = errors.New("EMPTY")       // CH-FRAME-1: a body of zero bytes
	ErrFraming     = errors.New("FRAMING")     // CH-FRAME-*: unknown first byte, bad batch structure
	ErrJSON        = errors.New("JSON")        // CH-JSON-1: not JSON, not UTF-8, not an object
	ErrEvent       = errors.New("EVENT")       // CH-MSG-3: event missing or not an event name
	ErrVersion     = errors.New("VERSION")     // CH-VER-1: v not a version range
	ErrParams      = errors.New("PARAMS")      // CH-EVT-*: a param missing or of the wrong type
	ErrLimit       = errors.New("LIMIT")       // CH-SIZE-*: over a size limit
	ErrCompression = errors.New("COMPRESSION") // CH-FRAME-5..7: bad compressed item
	ErrElement     = errors.New("ELEMENT")     // CH-FRAME-4: binary batch element kind not supported
	ErrNested      = errors.New("NESTED")      // CH-FWD-2, CH-FRAME-6: forbidden nesting
)

// Error is a decoding failure: its kind, where in the input (a JSON path such
// as "params.profile.displayName", or a framing position such as
// "element 2"), and a detail for humans.
type Error struct {
	Kind   error
	Where  string
	Detail string
}

func (e *Error) Error() string {
	if e.Where == "" {
		return fmt.Sprintf("chat message: %v: %s", e.Kind, e.Detail)
	}
	return fmt.Sprintf("chat message: %v at %s: %s", e.Kind, e.Where, e.Detail)
}

func (e *Error) Unwrap() error { return e.Kind }

func errf(kind error, where, format string, args ...any) *Error {
	return &Error{Kind: kind, Where: where, Detail: fmt.Sprintf(format, args...)}
}

// KindName returns the kind of a decoding error as vectors name it ("PARAMS",
// "FRAMING", ...), or the error text for any other error.
func KindName(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind.Error()
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

// Where returns the position of a decoding error, or "".
func Where(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Where
	}
	return ""
}
