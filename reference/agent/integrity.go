package agent

import "fmt"

// MsgErrorKind names how a received message breaks the sender's numbering
// or hash chain (GC-ENV-7), as the upstream agent's MsgErrorType does.
type MsgErrorKind string

// Integrity errors, with upstream's text names.
const (
	MsgSkipped   MsgErrorKind = "NO_ID"     // ids FromMsgID..ToMsgID never arrived
	MsgBadID     MsgErrorKind = "ID"        // an id lower than the last one (MsgID)
	MsgBadHash   MsgErrorKind = "HASH"      // the next id, but the previous hash differs
	MsgDuplicate MsgErrorKind = "DUPLICATE" // the last id again
)

// MsgIntegrity is the result of checking a received message's id and
// previous-message hash against the last message received on the
// connection. The zero value is OK. The message is delivered either way:
// the check reports, it does not reject.
type MsgIntegrity struct {
	Err                MsgErrorKind // empty when the message is in order
	FromMsgID, ToMsgID int64        // MsgSkipped: the missing ids
	MsgID              int64        // MsgBadID: the id received
}

// OK reports whether the message was the next one, chained correctly.
func (m MsgIntegrity) OK() bool { return m.Err == "" }

// String returns upstream's text form: "OK", "ERR NO_ID 2 3", "ERR ID 1",
// "ERR HASH" or "ERR DUPLICATE".
func (m MsgIntegrity) String() string {
	switch m.Err {
	case "":
		return "OK"
	case MsgSkipped:
		return fmt.Sprintf("ERR NO_ID %d %d", m.FromMsgID, m.ToMsgID)
	case MsgBadID:
		return fmt.Sprintf("ERR ID %d", m.MsgID)
	}
	return "ERR " + string(m.Err)
}

// checkIntegrity compares a received message id and previous-message hash
// with the last id and the hash of the last message received (GC-ENV-7),
// in the order of upstream's checkMsgIntegrity.
func checkIntegrity(lastID, id int64, lastHash, prevHash []byte) MsgIntegrity {
	sameHash := string(lastHash) == string(prevHash)
	switch {
	case id == lastID+1 && sameHash:
		return MsgIntegrity{}
	case id < lastID:
		return MsgIntegrity{Err: MsgBadID, MsgID: id}
	case id == lastID:
		return MsgIntegrity{Err: MsgDuplicate}
	case id > lastID+1:
		return MsgIntegrity{Err: MsgSkipped, FromMsgID: lastID + 1, ToMsgID: id - 1}
	}
	return MsgIntegrity{Err: MsgBadHash}
}
