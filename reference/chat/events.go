package chat

import "github.com/smpkit/smpkit/reference/agent"

// Event is something the library tells its user, delivered on Events.
// Each concrete type names what happened; every one says for which user.
type Event interface {
	// User is the id of the user (profile) the event is for.
	User() int64
}

// ContactConnected: a contact's connection is up; messages can flow.
type ContactConnected struct{ Contact Contact }

// ContactUpdated: a contact sent a new profile (x.info, CH-PROF-3).
type ContactUpdated struct{ Contact Contact }

// ContactDeleted: the contact deleted us (x.direct.del, CH-CONN-4); the
// history stays until DeleteContact.
type ContactDeleted struct{ Contact Contact }

// ContactRequested: someone asked to connect through the user's address
// (x.contact, CH-CONN-2); AcceptRequest or RejectRequest it.
type ContactRequested struct{ Request Request }

// NewItem: a message arrived.
type NewItem struct{ Item Item }

// ItemUpdated: a message was edited (x.msg.update), deleted for everyone
// (x.msg.del), reacted to (x.msg.react) or delivered (a receipt).
type ItemUpdated struct{ Item Item }

// MessageIntegrity: a contact's agent message did not follow the one
// before (ids skipped, out of order, a wrong hash: GC-ENV-7). The message
// itself was processed.
type MessageIntegrity struct {
	Contact   Contact
	Integrity agent.MsgIntegrity
}

// Error: something received could not be processed (nothing was changed).
type Error struct {
	UserID int64
	Err    error
}

func (e ContactConnected) User() int64 { return e.Contact.UserID }
func (e ContactUpdated) User() int64   { return e.Contact.UserID }
func (e ContactDeleted) User() int64   { return e.Contact.UserID }
func (e ContactRequested) User() int64 { return e.Request.UserID }
func (e NewItem) User() int64          { return e.Item.UserID }
func (e ItemUpdated) User() int64      { return e.Item.UserID }
func (e Error) User() int64            { return e.UserID }
func (e MessageIntegrity) User() int64 { return e.Contact.UserID }
