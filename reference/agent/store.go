package agent

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/reference/db"
	"github.com/smpkit/smpkit/reference/smp"
)

// Schema is the agent's part of the shared database (docs/db.md). Each
// connection is one row; what grows with traffic (message records, the
// outbox, undelivered events) has its own table, so the cost of a message
// does not grow with the number of connections or with history.
var Schema = db.Schema{Package: "agent", Migrations: []db.Migration{{
	Name: "connections, received messages, outbox, events",
	SQL: `
CREATE TABLE agent_conns (
	id    TEXT PRIMARY KEY,
	state BLOB NOT NULL -- the Conn as JSON: queues, ratchet, skipped keys, hash chains
);
-- Every message taken from a receiving queue, by the relay's message id:
-- a redelivered message (not ACKed before a crash or a failed commit) is
-- recognised and only acknowledged. ct_hash is the hash of a decrypted
-- ratchet ciphertext: a copy on another queue is redundancy (GC-REDUNDANCY-1),
-- on the same queue a replay.
CREATE TABLE agent_received (
	seq     INTEGER PRIMARY KEY,
	conn    TEXT NOT NULL REFERENCES agent_conns(id) ON DELETE CASCADE,
	queue   BLOB NOT NULL, -- queueKey of the receiving queue
	smp_id  BLOB NOT NULL,
	ct_hash BLOB,
	UNIQUE (queue, smp_id)
);
CREATE INDEX agent_received_hash ON agent_received (conn, ct_hash) WHERE ct_hash IS NOT NULL;
-- Envelopes ratchet-encrypted in a committed transaction and not yet
-- accepted by the relay, in order per sending queue (AUTOINCREMENT: a
-- sender remembers how far it got by seq, which must never be reused).
CREATE TABLE agent_outbox (
	seq    INTEGER PRIMARY KEY AUTOINCREMENT,
	conn   TEXT NOT NULL REFERENCES agent_conns(id) ON DELETE CASCADE,
	queue  BLOB NOT NULL, -- queueKey of the sending queue
	env    BLOB NOT NULL,
	notify INTEGER NOT NULL,
	msg_id INTEGER NOT NULL, -- the agent message id (0 for other envelopes)
	sent_event BLOB -- an event to emit once the relay accepted the envelope
);
CREATE INDEX agent_outbox_queue ON agent_outbox (queue, seq);
-- Messages (A_MSG) received and not yet acknowledged by the application,
-- with the hash its receipt carries.
CREATE TABLE agent_unacked (
	conn   TEXT NOT NULL REFERENCES agent_conns(id) ON DELETE CASCADE,
	msg_id INTEGER NOT NULL,
	hash   BLOB NOT NULL,
	PRIMARY KEY (conn, msg_id)
) WITHOUT ROWID;
-- Events not yet taken by the application; AUTOINCREMENT so that a
-- sequence number is never reused after the table empties.
CREATE TABLE agent_events (
	seq   INTEGER PRIMARY KEY AUTOINCREMENT,
	event BLOB NOT NULL
);`,
}, {
	Name: "hashes of sent messages, for their receipts",
	SQL: `
-- Every A_MSG sent, by its agent message id, with the SHA-256 of the
-- encoded agent message: a receipt (A_RCVD) is checked against it
-- (upstream snd_messages.internal_hash, rcpt_status). rcpt is NULL until
-- a receipt came, then 'ok' or 'badMsgHash'.
CREATE TABLE agent_sent (
	conn   TEXT NOT NULL REFERENCES agent_conns(id) ON DELETE CASCADE,
	msg_id INTEGER NOT NULL,
	hash   BLOB NOT NULL,
	rcpt   TEXT,
	PRIMARY KEY (conn, msg_id)
) WITHOUT ROWID;`,
}}}

// keepSent bounds the sent-message hashes a connection keeps: a receipt
// for a message this many ids older than the last one sent is reported as
// for an unknown message (upstream expires them by age instead).
const keepSent = 4096

// sentReceipt returns a sent A_MSG's hash and receipt status; found is
// false for an id that is not one (or no longer kept).
func sentReceipt(ctx context.Context, d *db.DB, connID string, msgID int64) (hash []byte, rcpt string, found bool, err error) {
	var r sql.NullString
	err = d.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT hash, rcpt FROM agent_sent WHERE conn = ? AND msg_id = ?`, connID, msgID).Scan(&hash, &r)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", false, nil
	}
	return hash, r.String, err == nil, err
}

// keepReceived is how many message records a connection keeps: enough to
// recognise any redelivery (the relay redelivers only the message not yet
// acknowledged) and a redundant copy arriving hundreds of messages late,
// while a connection's history stays bounded (about 250 KB).
const keepReceived = 512

// queueKey names a queue on a relay: the relay's address and the queue id.
func queueKey(srv smp.Server, id []byte) string {
	return srv.String() + "#" + string(id)
}

func loadConns(ctx context.Context, d *db.DB) (map[string]*Conn, error) {
	conns := map[string]*Conn{}
	err := d.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(`SELECT id, state FROM agent_conns`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var b []byte
			if err := rows.Scan(&id, &b); err != nil {
				return err
			}
			c := &Conn{}
			if err := json.Unmarshal(b, c); err != nil {
				return fmt.Errorf("connection %s: %w", id, err)
			}
			conns[id] = c
		}
		return rows.Err()
	})
	return conns, err
}

func loadConn(ctx context.Context, d *db.DB, id string) (*Conn, error) {
	var b []byte
	err := d.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT state FROM agent_conns WHERE id = ?`, id).Scan(&b)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	c := &Conn{}
	return c, json.Unmarshal(b, c)
}

func saveConn(tx *db.Tx, c *Conn) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = tx.Exec(`INSERT INTO agent_conns (id, state) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET state = excluded.state`, c.ID, b)
	return err
}

// wasReceived reports whether the relay's message msgID on the queue was
// processed already.
func wasReceived(ctx context.Context, d *db.DB, qk string, msgID []byte) (bool, error) {
	var n int
	err := d.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT count(*) FROM agent_received WHERE queue = ? AND smp_id = ?`, []byte(qk), msgID).Scan(&n)
	})
	return n > 0, err
}

// seenOn returns the queue a ratchet ciphertext with this hash was
// decrypted from, if any.
func seenOn(ctx context.Context, d *db.DB, connID string, ctHash []byte) (string, bool, error) {
	var q []byte
	err := d.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT queue FROM agent_received WHERE conn = ? AND ct_hash = ? LIMIT 1`, connID, ctHash).Scan(&q)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return string(q), err == nil, err
}

func recordReceived(tx *db.Tx, connID, qk string, msgID, ctHash []byte) error {
	res, err := tx.Exec(`INSERT INTO agent_received (conn, queue, smp_id, ct_hash) VALUES (?, ?, ?, ?)`, connID, []byte(qk), msgID, ctHash)
	if err != nil {
		return err
	}
	// Keep the newest records of the connection; trim now and then rather
	// than after every message.
	if seq, err := res.LastInsertId(); err == nil && seq%64 == 0 {
		_, err = tx.Exec(`DELETE FROM agent_received WHERE conn = ? AND seq <= (
			SELECT seq FROM agent_received WHERE conn = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)`, connID, connID, keepReceived)
		return err
	}
	return nil
}

// outboxRow is one envelope waiting for its relay.
type outboxRow struct {
	seq       int64
	conn      string
	env       []byte
	notify    bool
	msgID     int64
	sentEvent []byte
}

func addOutbox(tx *db.Tx, connID string, m outMsg) error {
	var ev []byte
	if m.sentEvent != nil {
		var err error
		if ev, err = encodeEvent(*m.sentEvent); err != nil {
			return err
		}
	}
	_, err := tx.Exec(`INSERT INTO agent_outbox (conn, queue, env, notify, msg_id, sent_event) VALUES (?, ?, ?, ?, ?, ?)`, connID, []byte(m.qk), m.env, m.notify, m.msgID, ev)
	return err
}

// nextOutbox returns the queue's first envelope after seq after.
func nextOutbox(ctx context.Context, d *db.DB, qk string, after int64) (*outboxRow, error) {
	r := &outboxRow{}
	err := d.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT seq, conn, env, notify, msg_id, sent_event FROM agent_outbox WHERE queue = ? AND seq > ? ORDER BY seq LIMIT 1`, []byte(qk), after).Scan(&r.seq, &r.conn, &r.env, &r.notify, &r.msgID, &r.sentEvent)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return r, err
}

func outboxQueues(ctx context.Context, d *db.DB) ([]string, error) {
	var qs []string
	err := d.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(`SELECT DISTINCT queue FROM agent_outbox`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var q []byte
			if err := rows.Scan(&q); err != nil {
				return err
			}
			qs = append(qs, string(q))
		}
		return rows.Err()
	})
	return qs, err
}

// storedEvent is an Event as persisted: the error as its text.
type storedEvent struct {
	Event
	Err string `json:"err,omitempty"`
}

func encodeEvent(e Event) ([]byte, error) {
	se := storedEvent{Event: e}
	se.Event.Err = nil
	if e.Err != nil {
		se.Err = e.Err.Error()
	}
	return json.Marshal(se)
}

func addEvent(tx *db.Tx, e Event) (int64, error) {
	b, err := encodeEvent(e)
	if err != nil {
		return 0, err
	}
	res, err := tx.Exec(`INSERT INTO agent_events (event) VALUES (?)`, b)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

func decodeEvent(b []byte) (Event, error) {
	var se storedEvent
	if err := json.Unmarshal(b, &se); err != nil {
		return Event{}, err
	}
	e := se.Event
	if se.Err != "" {
		e.Err = errors.New(se.Err)
	}
	return e, nil
}

// unackedHash returns the hash of a received message not yet
// acknowledged, nil if there is none.
func unackedHash(ctx context.Context, d *db.DB, connID string, msgID int64) ([]byte, error) {
	var h []byte
	err := d.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT hash FROM agent_unacked WHERE conn = ? AND msg_id = ?`, connID, msgID).Scan(&h)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return h, err
}

// Pending returns how many envelopes of the connection wait for their
// relay (sent by Send and not yet accepted).
func (a *Agent) Pending(ctx context.Context, connID string) (int, error) {
	var n int
	err := a.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT count(*) FROM agent_outbox WHERE conn = ?`, connID).Scan(&n)
	})
	return n, err
}

// DB returns the agent's database, for a package that keeps its tables
// next to the agent's (the chat library).
func (a *Agent) DB() *db.DB { return a.db }
