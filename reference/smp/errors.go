package smp

import (
	"errors"
	"fmt"
)

// ErrKind is the first word of an SMP error (spec/smp.md §"Errors").
type ErrKind string

const (
	ErrBLOCK      ErrKind = "BLOCK"
	ErrSESSION    ErrKind = "SESSION"
	ErrCMD        ErrKind = "CMD"
	ErrPROXY      ErrKind = "PROXY"
	ErrAUTH       ErrKind = "AUTH"
	ErrBLOCKED    ErrKind = "BLOCKED"
	ErrSERVICE    ErrKind = "SERVICE"
	ErrCRYPTO     ErrKind = "CRYPTO"
	ErrQUOTA      ErrKind = "QUOTA"
	ErrSTORE      ErrKind = "STORE"
	ErrNOMSG      ErrKind = "NO_MSG"
	ErrLARGEMSG   ErrKind = "LARGE_MSG"
	ErrEXPIRED    ErrKind = "EXPIRED"
	ErrINTERNAL   ErrKind = "INTERNAL"
	ErrDUPLICATE_ ErrKind = "DUPLICATE_"
)

// CmdErr is the detail of an ERR CMD.
type CmdErr string

const (
	CmdUNKNOWN    CmdErr = "UNKNOWN"
	CmdSYNTAX     CmdErr = "SYNTAX"
	CmdPROHIBITED CmdErr = "PROHIBITED"
	CmdNOAUTH     CmdErr = "NO_AUTH"
	CmdHASAUTH    CmdErr = "HAS_AUTH"
	CmdNOENTITY   CmdErr = "NO_ENTITY"
)

// ErrorType is the value of an ERR response. Kind selects which of the other
// fields is meaningful.
type ErrorType struct {
	Kind    ErrKind
	Cmd     CmdErr        // Kind == ErrCMD
	Proxy   *ProxyError   // Kind == ErrPROXY
	Blocked *BlockingInfo // Kind == ErrBLOCKED
	Store   string        // Kind == ErrSTORE (UTF-8 text)
}

// Frequently used error values.
var (
	BLOCK         = ErrorType{Kind: ErrBLOCK}
	SESSION       = ErrorType{Kind: ErrSESSION}
	AUTH          = ErrorType{Kind: ErrAUTH}
	CMDUnknown    = ErrorType{Kind: ErrCMD, Cmd: CmdUNKNOWN}
	CMDSyntax     = ErrorType{Kind: ErrCMD, Cmd: CmdSYNTAX}
	CMDProhibited = ErrorType{Kind: ErrCMD, Cmd: CmdPROHIBITED}
	CMDNoAuth     = ErrorType{Kind: ErrCMD, Cmd: CmdNOAUTH}
	CMDHasAuth    = ErrorType{Kind: ErrCMD, Cmd: CmdHASAUTH}
	CMDNoEntity   = ErrorType{Kind: ErrCMD, Cmd: CmdNOENTITY}
)

// A ProtocolError is what every decoder in this package returns: the ERR a
// relay must answer, and the underlying cause (what failed and where).
type ProtocolError struct {
	Type ErrorType
	Err  error
}

func (e *ProtocolError) Error() string {
	if e.Err == nil {
		return "ERR " + e.Type.String()
	}
	return fmt.Sprintf("ERR %s: %v", e.Type.String(), e.Err)
}

func (e *ProtocolError) Unwrap() error { return e.Err }

// Errorf returns a *ProtocolError of type t with a formatted cause.
func Errorf(t ErrorType, format string, args ...any) error {
	return &ProtocolError{Type: t, Err: fmt.Errorf(format, args...)}
}

// wrapErr returns a *ProtocolError of type t around err (nil stays nil).
func wrapErr(t ErrorType, context string, err error) error {
	if err == nil {
		return nil
	}
	return &ProtocolError{Type: t, Err: fmt.Errorf("%s: %w", context, err)}
}

// ErrorTypeOf returns the ERR carried by err, if any.
func ErrorTypeOf(err error) (ErrorType, bool) {
	var pe *ProtocolError
	if errors.As(err, &pe) {
		return pe.Type, true
	}
	return ErrorType{}, false
}
