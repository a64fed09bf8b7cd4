// Package chat is the chat library: users (profiles), contacts, direct
// messages and long-term addresses over graph-chat connections
// (reference/agent), speaking the chat protocol of spec/chat.md through
// reference/chatmsg.
//
// # Storage
//
// Everything of the chat lives in one encrypted database, <Dir>/chat.db
// (reference/db, schema "chat", see Schema): users, contacts, addresses,
// requests, items (messages) and reactions of every user. Profiles and
// message contents are kept as the canonical JSON of their chat events, so
// fields this revision does not know survive (CH-EXT-1).
//
// Each user has its own agent, with its own database <Dir>/user-<id>/agent.db
// under the same passphrase. This is how several profiles in one client keep
// separate transport sessions: an agent keeps one TLS session per relay for
// all its queues, so one agent for all users would let a relay link their
// queues by session. The price is that the chat's rows and the agent's are
// in different files, so they are never in one transaction. Nothing depends
// on one: agent events are delivered at least once and the chat records
// every agent message it processed (chat_received) in the transaction that
// applies it, before acknowledging it, so a repeated event changes nothing;
// a message to send is stored (status sending) before the agent takes it.
// (A joint transaction would also be unsafe with this agent: it holds a
// connection's lock while it waits for the database writer.)
//
// # Events
//
// The agents' events are processed in order per user; what they mean for
// the chat comes out of Client.Events as typed values (ContactConnected,
// ContactRequested, NewItem, ItemUpdated, ...). Every call takes a context.
// Calls that create a contact act for the active user (SetActiveUser); the
// others name what they act on by id, whichever user it belongs to.
//
// # Handshakes
//
// One-time invitation: the initiator's agent makes the link
// (CreateInvitation); the joiner's confirmation carries x.info with its
// profile (Connect); the initiator's client allows it automatically with its
// own x.info (CH-CONN-1). Address: the requester's x.contact (with a
// contactReqId that repeats merge under) arrives as ContactRequested, unless
// the address accepts automatically; accepting joins the requester's
// invitation with x.info, and a welcome message, if set, is the first
// message once connected (CH-CONN-2). Deleting a contact sends x.direct.del
// and deletes the connection when its receipt arrives (CH-CONN-4).
//
// # Receipts
//
// The receiver acknowledges every agent message, so the agent sends a
// receipt for each (the agent has no way to acknowledge without one); the
// sender shows an item delivered when the receipt for its agent message
// arrives (CH-RCPT-1). Upstream asks for receipts only for x.msg.new and
// x.grp.inv: that needs a per-message receipt flag in the agent.
//
// # Groups (design, not yet built)
//
// A group is a row of chat_groups (its profile, CH-GRP-1, and our member id
// and role) and one chat_members row per member, each with its own agent
// connection (own queues, so members are not linked through ours). The host
// invites a contact with x.grp.inv over the contact's connection, carrying
// a one-time invitation made for the group (CH-GRP-INV-1); the invitee joins
// it with x.grp.acpt as connection info and the host answers x.ok
// (CH-GRP-INV-2). Once connected, the host announces the member
// (x.grp.mem.new) to the others and introduces each of them to it
// (x.grp.mem.intro); for each, the new member makes an invitation and
// returns it (x.grp.mem.inv), the host forwards it (x.grp.mem.fwd), and the
// existing member joins it with x.grp.mem.info, answered alike
// (CH-GRP-INTRO-1..5); x.grp.mem.con tells the host a pair is up. Until
// then the host forwards the pair's messages in x.grp.msg.forward (CH-FWD-1),
// and the receiver keeps one item per msgId and author (CH-FWD-3). Messages
// to a group are sent to every connected member; items refer to the group
// and the author member instead of a contact, so chat_items gains group_id
// and member_id columns (a new migration) and the handlers of x.msg.* take
// the chat from the connection. Roles (CH-ROLE-1..3) are checked on receipt
// against the sender's member row.
package chat
