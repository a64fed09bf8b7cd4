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
// every agent message it processed (chat_received, chat_member_received) in
// the transaction that applies it, before acknowledging it, so a repeated
// event changes nothing. Every change that the peers must hear of (a
// message, an edit, a profile update, an introduction) is committed
// together with a task (chat_tasks) that hands it to the agent; tasks run
// in order after the commit, are retried while they fail and resume after a
// restart, so a crash between our commit and the agent's loses nothing (a
// task done but not yet deleted is done again: at least once).
// (A joint transaction would also be unsafe with this agent: it holds a
// connection's lock while it waits for the database writer.)
//
// # Users
//
// Every user's agent runs, the active user's and the others' (the active
// user is only whom CreateInvitation, Connect and the like act for), so
// every user receives. A user hidden with HideUser (CH-USER-2) keeps its
// password's salted SHA-512 hash in chat_users, as upstream keeps
// viewPwdHash; Users lists it only while it is active, and ActivateUser,
// FindUser, UnhideUser and DeleteUserWithPassword need the password, any
// mistake being ErrUserUnknown like an unknown user. Hidden users are
// muted, and Shown tells an application which events to show now
// (CH-USER-3); every event is delivered and stored either way. DeleteUser
// deletes the user's connections with their queues on the relays, so its
// peers' next messages are refused (AUTH) as upstream's are, then its
// agent directory and its rows (CH-USER-4).
//
// ExportProfile moves a user to another client (another device): it stops
// the user's agent, marks the user moved (chat_users.moved_at; its agent
// never starts here again, CH-DEV-2), and writes the user's agent database
// and its chat rows (those reachable from its chat_users row through
// foreign keys) as one archive (reference/chatarchive, CH-DEV-3) under a
// fresh key, which it returns as a smpkit-migrate: link for a QR code
// (CH-DEV-4). ImportProfile on the other client fills a fresh agent
// database under that client's passphrase with the agent rows and adds the
// chat rows with fresh ids (each table's ids moved by its largest id, and
// the foreign keys and the id columns of idRefs and tasks with them), then
// starts the user, whose conversations continue. TakeBackProfile runs a
// moved user here again, for an archive that went nowhere. A table added later is
// moved with no code as long as its references to other chat rows are
// foreign keys (or, without any, it is keyed by conn_id); other id
// columns go in idRefs.
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
// and deletes the connection once a relay accepted it (the agent's SENT,
// CH-CONN-4).
//
// # Receipts
//
// The receiver acknowledges every agent message once processed, asking
// its agent for a receipt only where upstream does (receipts.go,
// CH-RCPT-1..2): for x.msg.new, x.grp.inv and x.call.inv, and in groups
// only while the group has at most 20 current members with us; the rest
// are acknowledged without one (agent.AckWithoutReceipt). The sender
// shows an item delivered when the receipt for its agent message arrives.
// Upstream's users can turn receipts off; this library has no such
// setting, and keeps them on as upstream's new users have them.
//
// A goodbye (x.direct.del, x.grp.leave, x.grp.mem.del, x.grp.del) gets no
// receipt, upstream's or ours, so the sender does not wait for one: it
// sends it with agent.SendReportSent and deletes the connection on SENT,
// when a relay has accepted it (upstream deletes such a connection once
// its pending messages are delivered). A receipt of it, from a peer of an
// earlier revision, does the same.
//
// # Groups
//
// A group is a row of chat_groups (its profile, CH-GRP-1, our member id and
// role) and one chat_members row per other member, each with its own agent
// connection. The host invites a contact with x.grp.inv over the contact's
// connection, carrying a one-time invitation made for the member
// (CH-GRP-INV-1); the invitation stays pending (GroupInvited) until
// JoinGroup joins it with x.grp.acpt, which the host checks and answers with
// x.ok (CH-GRP-INV-2). Once the member is connected, the host announces it
// (x.grp.mem.new) to the others and introduces each of them to it
// (x.grp.mem.intro); the new member makes an invitation per introduction and
// returns it (x.grp.mem.inv), the host passes it on (x.grp.mem.fwd) for its
// own introductions only (chat_intros), and the existing member joins it
// with x.grp.mem.info, which the new member checks and answers alike
// (CH-GRP-INTRO-1..5); each side then sends x.grp.mem.con to its host
// (CH-GRP-INTRO-6). Until then the host forwards the pair's messages in
// x.grp.msg.forward (CH-FWD-1), accepted only from the receiver's host and
// not nested (CH-FWD-2); one item per author and msgId (CH-FWD-3). Content
// from an observer and member announcements from below admin are reported
// and ignored (CH-ROLE-3).
//
// Any admin or owner may host: x.grp.mem.fwd and x.grp.msg.forward are
// accepted from admins and owners, as upstream accepts them (CH-GRP-INTRO-5,
// CH-FWD-2). A host introduces every current member to the new one, those
// it is still connecting with included: what such a member is owed
// (x.grp.mem.new, x.grp.mem.fwd, forwards) waits in chat_pending until its
// connection with the host is up, as upstream's pending group messages.
//
// Group links (grplinks.go): CreateGroupLink makes a contact address of
// the host (chat_group_links) whose requests join the group with the
// link's role, observer or member. JoinGroupLink sends x.contact with the
// redacted profile; the group is GroupRequested until the host's
// x.grp.link.inv brings the group profile, our member id and role
// (CH-GRP-LINK-2), answered with x.info; once connected the host sends
// x.grp.link.mem with its profile and introduces the new member like an
// invited one (CH-GRP-LINK-3).
//
// Roles, profile, deletion (grpmanage.go, grpevents.go): ChangeMemberRole
// (x.grp.mem.role), UpdateGroupProfile (x.grp.info, owners) and DeleteGroup
// (x.grp.del, owners) go to every member; receivers check the sender's role
// (CH-ROLE-3) and report MemberRoleChanged, GroupUpdated and GroupDeleted;
// a member obeys a change of its own role at once. A deleted group takes no
// more events; DeleteGroup on it (or on a group left or lost) removes it
// locally with its connections.
//
// Items (grpmanage.go, grpevents.go): UpdateGroupMessage, DeleteGroupMessage
// (our own, or as a moderator another's, naming its author) and ReactGroup
// send x.msg.update, x.msg.del and x.msg.react; receivers find the item by
// its author and msgId (CH-GRP-ITEM-1) and report GroupItemUpdated. Hosts
// forward these, x.info, roles, removals, leaves, deletion and profile
// updates too until the pair connects (CH-FWD-1).
//
// History: when the group profile's history preference is on, the host
// sends a new member, after its introductions, the last 100 items as
// x.grp.msg.forward (its own included) and the group description as a
// welcome message (CH-GRP-HIST-1).
//
// Profile updates: UpdateProfile also sends x.info with the redacted
// profile to the members of the user's active groups
// (addGroupProfileTasks, CH-PROF-3); receivers report MemberUpdated.
//
// LeaveGroup sends x.grp.leave and RemoveMember x.grp.mem.del (admins and
// owners, CH-ROLE-2) to every member; the sender deletes its connection
// with the departing member once a relay accepted the message (SENT, see
// Receipts). Receivers
// stop sending to a member that left or was removed, and ignore what it
// sends, and a removed member stops sending (CH-GRP-DEL-1..2,
// CH-GRP-LEAVE-1), but they keep their connection with it (a peer of an
// earlier revision waits for a receipt of its goodbye, which deleting the
// connection could drop). Members of a deleted group keep theirs alike
// until DeleteGroup.
//
// Not yet built: group links carry no groupLinkId (our links have no chat
// data); no join approval (x.grp.link.acpt, x.grp.link.reject); no
// per-member version ranges, so nothing is gated by the member's chat
// version; history messages whose author the new member does not know are
// dropped (upstream records an unknown member); the removal's "messages"
// flag and moderations that arrive before their item are not applied.
//
// # Broadcasts
//
// Broadcast sends one content to a chosen set of a user's contacts
// (upstream's feed): each copy is an ordinary x.msg.new over that
// contact's own connection with its own msgId, so recipients cannot link
// their copies (CH-BCAST-1). The copies are items of their contacts'
// histories, tied together by a chat_broadcasts row; UpdateBroadcast and
// DeleteBroadcast send x.msg.update and x.msg.del for each copy by its
// msgId (CH-BCAST-2), all in the one transaction that records them.
//
// # Security codes and key changes
//
// ContactCode and MemberCode compute a connection's security code from
// the agent's hash of the ratchet's associated data (agent.RatchetADHash,
// chatmsg.SecurityCode; CH-CODE-1). VerifyCode and VerifyMember mark
// the connection verified only when the code given matches, spaces
// ignored (CH-CODE-2). SwitchContact and SwitchMember rotate our receiving
// queue to another relay (the agent's Rotate), SyncContact and SyncMember
// re-agree the ratchets (SyncRatchet); their ends on either side come out
// as QueueSwitched and RatchetSynced. A re-agreed ratchet has a new code:
// a verified mark is cleared and SecurityCodeChanged reported
// (CH-CODE-3); a code found to differ when shown is cleared too. As a
// resync usually follows a restored backup, whose agent numbers messages
// from an earlier id again, the record of processed agent messages of the
// connection is forgotten then (CH-RSYNC-1).
//
// # Duplicate contacts
//
// When a contact connects, the side that started the connection sends it
// x.info.probe and sends the probe's hash (x.info.probe.check) to its
// other contacts with the same profile (CH-PROBE-1..2). The client that
// gets the probe over one connection and its hash over another answers
// x.info.probe.ok and merges the two; the prober merges on the answer
// (CH-PROBE-3). Merging keeps the contact with the lower name suffix (bob
// over bob_1) with both histories; it sends on the newer connection and
// keeps receiving on the older (chat_contact_conns, with its own record
// of processed messages since agent message ids are per connection;
// CH-PROBE-5). ContactsMerged reports it. Members take part alike: a new
// contact's hash also goes to members with its profile, and the member
// that joined later probes a member connection made by introduction and
// sends the hash to contacts with the member's profile; a match links the
// member to the contact (ContactMemberLinked), members never match
// members.
//
// # Incognito
//
// A contact or a group membership may have a random profile in place of
// the user's (incognito.go, CH-INCOG-1..6): a contact by invitation, by a
// request to an address or accepted from one (also automatically), and a
// membership invited over such a contact (which keeps that contact's
// profile), joined by a group link incognito or of a group created
// incognito. ourMemberProfile gives every group event the membership's
// profile; such memberships invite no contacts, get no main profile
// updates and take no part in duplicate-contact probes.
//
// # Disappearing messages
//
// Timed messages are on with a contact while neither side's timedMessages
// preference says no (CH-PREF-1). SetTimedMessages sets the user's
// preference for one contact and tells it by x.info; SendMessageTTL gives
// one message a ttl, and otherwise the preference's ttl applies
// (CH-TIMED-1). The sender's item goes ttl after sending; a received one
// ttl after ReadItems starts its timer (CH-TIMED-2). Each user's run loop
// deletes items whose time came and reports ItemExpired; the time is
// stored, so a restart changes nothing (CH-TIMED-3).
package chat
