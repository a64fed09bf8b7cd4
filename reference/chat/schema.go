package chat

import "github.com/smpkit/smpkit/reference/db"

// Schema is the chat library's part of the shared database. Profiles,
// contacts and history of every user live here; profiles and message
// contents are stored as the canonical JSON chatmsg writes (CH-JSON-2), so
// fields this revision does not know are kept (CH-EXT-1).
var Schema = db.Schema{Package: "chat", Migrations: []db.Migration{{
	Name: "users, contacts, addresses, requests, items, reactions",
	SQL: `
CREATE TABLE chat_users (
	id         INTEGER PRIMARY KEY,
	name       TEXT NOT NULL UNIQUE, -- the display name, unique among users
	profile    BLOB NOT NULL,        -- x.info message with the profile
	active     INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
CREATE TABLE chat_contacts (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES chat_users(id) ON DELETE CASCADE,
	conn_id    TEXT NOT NULL UNIQUE, -- the agent connection
	local_name TEXT,                 -- unique per user once the profile is known (CH-PROF-2)
	profile    BLOB,                 -- the peer's x.info message
	status     TEXT NOT NULL,        -- invited, joined, requested, accepted, connected, deleting, deleted_by_peer
	del_msg    INTEGER,              -- while deleting: the agent message id of x.direct.del
	welcome    TEXT,                 -- sent when the connection is up (address auto-accept)
	created_at INTEGER NOT NULL,
	UNIQUE (user_id, local_name)
);
CREATE TABLE chat_addresses (
	id          INTEGER PRIMARY KEY,
	user_id     INTEGER NOT NULL UNIQUE REFERENCES chat_users(id) ON DELETE CASCADE,
	conn_id     TEXT NOT NULL UNIQUE,
	link        TEXT NOT NULL,
	auto_accept INTEGER NOT NULL DEFAULT 0,
	welcome     TEXT
);
-- Contact requests to an address not yet accepted or rejected. Repeats of
-- one request (same contactReqId) are one row (CH-CONN-2).
CREATE TABLE chat_requests (
	id             INTEGER PRIMARY KEY,
	address_id     INTEGER NOT NULL REFERENCES chat_addresses(id) ON DELETE CASCADE,
	invitation     TEXT NOT NULL,
	profile        BLOB NOT NULL, -- the x.contact message
	contact_req_id BLOB,
	created_at     INTEGER NOT NULL,
	UNIQUE (address_id, contact_req_id)
);
-- Chat items: one per message sent or received, edited in place.
CREATE TABLE chat_items (
	id          INTEGER PRIMARY KEY,
	contact_id  INTEGER NOT NULL REFERENCES chat_contacts(id) ON DELETE CASCADE,
	sent        INTEGER NOT NULL,
	shared_id   BLOB,             -- msgId of x.msg.new (CH-MSG-2)
	agent_msg   INTEGER,          -- the agent message id (ours when sent, the peer's when received)
	content     BLOB NOT NULL,    -- x.msg.new message with the current content
	text        TEXT NOT NULL,    -- what is shown (CH-CONTENT-3)
	quote_id    INTEGER,          -- the item replied to, when known
	status      TEXT NOT NULL,    -- sent, delivered, received
	edited      INTEGER NOT NULL DEFAULT 0,
	deleted     INTEGER NOT NULL DEFAULT 0, -- 1 for everyone by its author
	created_at  INTEGER NOT NULL
);
CREATE INDEX chat_items_page ON chat_items (contact_id, id);
CREATE INDEX chat_items_shared ON chat_items (contact_id, shared_id);
CREATE INDEX chat_items_agent ON chat_items (contact_id, sent, agent_msg);
CREATE TABLE chat_reactions (
	item_id  INTEGER NOT NULL REFERENCES chat_items(id) ON DELETE CASCADE,
	sent     INTEGER NOT NULL, -- 1: ours, 0: the contact's
	reaction TEXT NOT NULL,    -- the reaction object as JSON (CH-MSG-REACT-2)
	PRIMARY KEY (item_id, sent, reaction)
);
-- Agent messages already processed, so that an event delivered again
-- after a restart changes nothing (the agent delivers at least once).
CREATE TABLE chat_received (
	contact_id INTEGER NOT NULL REFERENCES chat_contacts(id) ON DELETE CASCADE,
	agent_msg  INTEGER NOT NULL,
	PRIMARY KEY (contact_id, agent_msg)
);`,
}, {
	Name: "groups, members, introductions, group items",
	SQL: `
CREATE TABLE chat_groups (
	id          INTEGER PRIMARY KEY,
	user_id     INTEGER NOT NULL REFERENCES chat_users(id) ON DELETE CASCADE,
	profile     BLOB NOT NULL,    -- x.grp.info message with the group profile
	member_id   BLOB NOT NULL,    -- ours
	role        TEXT NOT NULL,    -- ours
	status      TEXT NOT NULL,    -- invited, joining, active
	invitation  BLOB,             -- while invited: the x.grp.inv message
	created_at  INTEGER NOT NULL
);
-- The other members, each with its own connection once there is one.
CREATE TABLE chat_members (
	id         INTEGER PRIMARY KEY,
	group_id   INTEGER NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
	member_id  BLOB NOT NULL,
	role       TEXT NOT NULL,
	profile    BLOB,              -- x.info message, redacted (CH-PROF-4)
	conn_id    TEXT UNIQUE,
	status     TEXT NOT NULL,     -- invited, announced, introduced, connecting, connected
	host       INTEGER NOT NULL DEFAULT 0, -- 1: the member that added us (our host)
	contact_id INTEGER REFERENCES chat_contacts(id) ON DELETE SET NULL,
	UNIQUE (group_id, member_id)
);
-- Introductions we made as host: existing member introduced to new member
-- (CH-GRP-INTRO-2..4); connected once x.grp.mem.con arrived.
CREATE TABLE chat_intros (
	new_member INTEGER NOT NULL REFERENCES chat_members(id) ON DELETE CASCADE,
	old_member INTEGER NOT NULL REFERENCES chat_members(id) ON DELETE CASCADE,
	connected  INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (new_member, old_member)
);
CREATE TABLE chat_group_items (
	id         INTEGER PRIMARY KEY,
	group_id   INTEGER NOT NULL REFERENCES chat_groups(id) ON DELETE CASCADE,
	author     INTEGER REFERENCES chat_members(id) ON DELETE SET NULL, -- NULL: ours
	sent       INTEGER NOT NULL,
	shared_id  BLOB,
	content    BLOB NOT NULL,
	text       TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX chat_group_items_page ON chat_group_items (group_id, id);
-- One item per author and msgId, however it arrived (CH-FWD-3).
CREATE UNIQUE INDEX chat_group_items_shared ON chat_group_items (group_id, author, shared_id) WHERE shared_id IS NOT NULL AND author IS NOT NULL;
CREATE TABLE chat_member_received (
	member    INTEGER NOT NULL REFERENCES chat_members(id) ON DELETE CASCADE,
	agent_msg INTEGER NOT NULL,
	PRIMARY KEY (member, agent_msg)
);`,
}, {
	Name: "tasks",
	SQL: `
-- Agent work decided by processing a message, recorded in the same
-- transaction and done after its commit (the agent is never called inside
-- a transaction of ours), so a crash in between loses none of it.
CREATE TABLE chat_tasks (
	id       INTEGER PRIMARY KEY,
	user_id  INTEGER NOT NULL REFERENCES chat_users(id) ON DELETE CASCADE,
	task     BLOB NOT NULL, -- JSON
	attempts INTEGER NOT NULL DEFAULT 0
);`,
}, {
	Name: "incognito contacts",
	SQL: `
-- Our random profile for a contact connected incognito (CH-INCOG-1).
ALTER TABLE chat_contacts ADD COLUMN incognito BLOB;`,
}, {
	Name: "member departures",
	SQL: `
-- While we leave or remove a member: the agent message id of the
-- x.grp.leave or x.grp.mem.del sent to it; its receipt ends the connection.
ALTER TABLE chat_members ADD COLUMN del_msg INTEGER;`,
}, {
	Name: "repeated contact requests",
	SQL: `
-- A request we sent to an address, while pending: the address and the
-- contactReqId, which a repeated request reuses (CH-CONN-2).
ALTER TABLE chat_contacts ADD COLUMN req_link TEXT;
ALTER TABLE chat_contacts ADD COLUMN req_id BLOB;`,
}, {
	Name: "group links, group item changes",
	SQL: `
-- A group's link: a contact address of ours whose requests join the group
-- with role (CH-GRP-LINK-1).
CREATE TABLE chat_group_links (
	group_id INTEGER PRIMARY KEY REFERENCES chat_groups(id) ON DELETE CASCADE,
	conn_id  TEXT NOT NULL UNIQUE,
	link     TEXT NOT NULL,
	role     TEXT NOT NULL
);
-- A member that joined by our group link: we owe it x.grp.link.mem
-- (CH-GRP-LINK-3); link_inv is its request's invitation, so that a request
-- delivered again makes no second member.
ALTER TABLE chat_members ADD COLUMN via_link INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chat_members ADD COLUMN link_inv TEXT;
-- Edits, deletions for everyone and moderation of group items
-- (CH-MSG-UPD-1, CH-MSG-DEL-1..2): moderated_by is the member row that
-- deleted another's item, 0 when we did.
ALTER TABLE chat_group_items ADD COLUMN edited INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chat_group_items ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chat_group_items ADD COLUMN moderated_by INTEGER;
-- Reactions to group items: member 0 is ours (CH-MSG-REACT-1).
CREATE TABLE chat_group_reactions (
	item_id  INTEGER NOT NULL REFERENCES chat_group_items(id) ON DELETE CASCADE,
	member   INTEGER NOT NULL,
	reaction TEXT NOT NULL,
	PRIMARY KEY (item_id, member, reaction)
);
-- What a host owes a member it is not connected with yet (an introduction
-- made while that member was still connecting): sent, in order, when the
-- connection is up (upstream's pending group messages).
CREATE TABLE chat_pending (
	id     INTEGER PRIMARY KEY,
	member INTEGER NOT NULL REFERENCES chat_members(id) ON DELETE CASCADE,
	body   BLOB NOT NULL
);`,
}, {
	Name: "security codes, extra contact connections",
	SQL: `
-- The security code the user verified for the connection (CH-CODE-2);
-- NULL when not verified or reset (CH-CODE-3).
ALTER TABLE chat_contacts ADD COLUMN verified_code TEXT;
ALTER TABLE chat_members ADD COLUMN verified_code TEXT;
-- Further connections of a contact, left by merging duplicates
-- (CH-PROBE-5): messages arriving on them are the contact's.
CREATE TABLE chat_contact_conns (
	conn_id    TEXT PRIMARY KEY,
	contact_id INTEGER NOT NULL REFERENCES chat_contacts(id) ON DELETE CASCADE
);
-- Agent messages processed on such a connection (chat_received is per
-- contact, and agent message ids are per connection).
CREATE TABLE chat_conn_received (
	conn_id   TEXT NOT NULL,
	agent_msg INTEGER NOT NULL,
	PRIMARY KEY (conn_id, agent_msg)
);`,
}, {
	Name: "broadcasts",
	SQL: `
-- A message sent to a chosen set of contacts (CH-BCAST-1): its copies are
-- the contacts' items with its id.
CREATE TABLE chat_broadcasts (
	id         INTEGER PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES chat_users(id) ON DELETE CASCADE,
	content    BLOB NOT NULL, -- x.msg.new message with the current content, no msgId
	text       TEXT NOT NULL,
	edited     INTEGER NOT NULL DEFAULT 0,
	deleted    INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL
);
ALTER TABLE chat_items ADD COLUMN broadcast_id INTEGER REFERENCES chat_broadcasts(id) ON DELETE SET NULL;
CREATE INDEX chat_items_broadcast ON chat_items (broadcast_id) WHERE broadcast_id IS NOT NULL;`,
}, {
	Name: "disappearing messages",
	SQL: `
-- A disappearing message's ttl in seconds and when it goes, in unix ms
-- (CH-TIMED-1..3); delete_at is NULL for a received one not yet read.
ALTER TABLE chat_items ADD COLUMN ttl INTEGER;
ALTER TABLE chat_items ADD COLUMN delete_at INTEGER;
CREATE INDEX chat_items_delete_at ON chat_items (delete_at) WHERE delete_at IS NOT NULL;
-- The user's timedMessages preference for this contact, when set for it
-- (allow and ttl seconds); else the user's profile's applies.
ALTER TABLE chat_contacts ADD COLUMN timed_allow TEXT;
ALTER TABLE chat_contacts ADD COLUMN timed_ttl INTEGER;`,
}, {
	Name: "duplicate-contact probes",
	SQL: `
-- Probes we sent to a new contact or member (CH-PROBE-1), and the
-- contacts and members we sent their hashes to (CH-PROBE-2). Each row
-- names a contact or a member.
CREATE TABLE chat_probes_sent (
	id         INTEGER PRIMARY KEY,
	contact_id INTEGER REFERENCES chat_contacts(id) ON DELETE CASCADE,
	member_id  INTEGER REFERENCES chat_members(id) ON DELETE CASCADE,
	probe      BLOB NOT NULL
);
CREATE TABLE chat_probe_hashes_sent (
	probe_id   INTEGER NOT NULL REFERENCES chat_probes_sent(id) ON DELETE CASCADE,
	contact_id INTEGER REFERENCES chat_contacts(id) ON DELETE CASCADE,
	member_id  INTEGER REFERENCES chat_members(id) ON DELETE CASCADE
);
-- Probes (with their hash) and probe hashes (probe NULL) received
-- (CH-PROBE-3).
CREATE TABLE chat_probes_received (
	contact_id INTEGER REFERENCES chat_contacts(id) ON DELETE CASCADE,
	member_id  INTEGER REFERENCES chat_members(id) ON DELETE CASCADE,
	probe      BLOB,
	probe_hash BLOB NOT NULL
);
CREATE INDEX chat_probes_received_hash ON chat_probes_received (probe_hash);
CREATE INDEX chat_probes_sent_probe ON chat_probes_sent (probe);`,
}, {
	Name: "hidden, muted and moved users",
	SQL: `
-- A hidden user's password hash: SHA-512 of the password's UTF-8 bytes
-- followed by the 16-byte salt (CH-USER-2); NULL for a visible user.
ALTER TABLE chat_users ADD COLUMN view_pwd_hash BLOB;
ALTER TABLE chat_users ADD COLUMN view_pwd_salt BLOB;
-- 0: the user's events are muted (always so while hidden, CH-USER-3).
ALTER TABLE chat_users ADD COLUMN show_ntfs INTEGER NOT NULL DEFAULT 1;
-- When the profile was exported to another device: its agent never runs
-- here again (CH-DEV-2).
ALTER TABLE chat_users ADD COLUMN moved_at INTEGER;`,
}, {
	Name: "incognito memberships and requests",
	SQL: `
-- Our random profile in a group joined or created incognito, as x.info
-- (CH-INCOG-4); NULL when the group has the user's profile.
ALTER TABLE chat_groups ADD COLUMN incognito BLOB;
-- 1: requests accepted automatically get a random profile each (CH-INCOG-6).
ALTER TABLE chat_addresses ADD COLUMN auto_incognito INTEGER NOT NULL DEFAULT 0;`,
},
	// Appended: item ids never reused (itemids.go).
	itemIDsMigration,
}}
