package chat

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

func memberInfo(m Member) *chatmsg.MemberInfo {
	mi := &chatmsg.MemberInfo{MemberID: m.MemberID, Role: m.Role, Profile: m.Profile}
	if mi.Profile == nil {
		mi.Profile = &chatmsg.Profile{DisplayName: "member"}
	}
	return mi
}

// ourMemberProfile is our profile as group g sees it: the membership's
// random one when incognito (CH-INCOG-4), else the user's redacted
// (CH-PROF-4).
func (c *Client) ourMemberProfile(ctx context.Context, g Group) (*chatmsg.Profile, error) {
	if g.Incognito != nil {
		return g.Incognito.Redacted(), nil
	}
	p, err := c.userProfile(ctx, g.UserID)
	if err != nil {
		return nil, err
	}
	return p.Redacted(), nil
}

// handleMember processes an agent event of a member connection; called
// with ua.mu held.
func (c *Client) handleMember(ctx context.Context, ua *userAgent, m Member, conn string, ev agent.Event) ([]Event, error) {
	var g Group
	if err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		g, err = loadGroup(tx, m.GroupID)
		return err
	}); err != nil {
		return nil, err
	}
	switch ev.Kind {
	case agent.EventConf:
		msg, err := firstMessage(ev.Body)
		if err != nil {
			return nil, err
		}
		var answer []byte
		switch e := msg.Event.(type) {
		case *chatmsg.GrpAcpt:
			// The invitee of our x.grp.inv (CH-GRP-INV-2).
			if m.Status != MemberInvited || m.Host || string(e.MemberID) != string(m.MemberID) {
				return nil, fmt.Errorf("group %d: x.grp.acpt for another member", g.ID)
			}
			answer = encode(&chatmsg.OK{})
		case *chatmsg.GrpMemInfo:
			// The member introduced to us joined our invitation
			// (CH-GRP-INTRO-5): its id must be the one we made it for.
			if m.Status != MemberIntroduced || string(e.MemberID) != string(m.MemberID) || e.Profile == nil {
				return nil, fmt.Errorf("group %d: x.grp.mem.info from another member", g.ID)
			}
			if err := c.db.Update(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(`UPDATE chat_members SET profile = ? WHERE id = ?`, infoBody(e.Profile.Redacted()), m.ID)
				return err
			}); err != nil {
				return nil, err
			}
			p, err := c.ourMemberProfile(ctx, g)
			if err != nil {
				return nil, err
			}
			answer = encode(&chatmsg.GrpMemInfo{MemberID: g.MemberID, Profile: p})
		case *chatmsg.GrpLinkInv:
			// The host accepted our link join (CH-GRP-LINK-2): our profile
			// for the group is the answer.
			if err := c.onGroupLinkInv(ctx, &g, &m, e.Invitation); err != nil {
				return nil, err
			}
			p, err := c.ourMemberProfile(ctx, g)
			if err != nil {
				return nil, err
			}
			answer = infoBody(p)
		default:
			return nil, fmt.Errorf("group %d: %s as member connection info", g.ID, msg.Event.Name())
		}
		if err := ua.a.Allow(ctx, conn, answer); err != nil {
			if st, serr := ua.a.ConnState(ctx, conn); serr == nil && st.Status != "confirmed" {
				return nil, nil // a repeat after a restart
			}
			return nil, err
		}
		return nil, nil
	case agent.EventInfo:
		msg, err := firstMessage(ev.Body)
		if err != nil {
			return nil, err
		}
		if e, ok := msg.Event.(*chatmsg.GrpMemInfo); ok && e.Profile != nil && string(e.MemberID) == string(m.MemberID) {
			return nil, c.db.Update(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(`UPDATE chat_members SET profile = ? WHERE id = ?`, infoBody(e.Profile.Redacted()), m.ID)
				return err
			})
		}
		return nil, nil // x.ok from the host (CH-CONN-3)
	case agent.EventCon:
		return c.memberConnected(ctx, ua, g, m)
	case agent.EventMsg:
		return c.onMemberMessage(ctx, ua, g, m, conn, ev)
	case agent.EventRcvd, agent.EventSent:
		// A relay accepted our x.grp.leave, x.grp.mem.del or x.grp.del
		// (SENT), or the member's receipt of it came (a peer of an
		// earlier revision): the connection can go.
		var dm *int64
		if err := c.db.View(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(`SELECT del_msg FROM chat_members WHERE id = ?`, m.ID).Scan(&dm)
		}); err != nil || dm == nil || *dm != ev.MsgID {
			return nil, err
		}
		return nil, c.dropMemberConn(ctx, ua, m.ID, conn)
	}
	return nil, nil
}

func firstMessage(body []byte) (*chatmsg.Message, error) {
	items, err := chatmsg.ParseBody(body)
	if err != nil {
		return nil, fmt.Errorf("connection info: %w", err)
	}
	if len(items) == 0 || items[0].Err != nil {
		return nil, fmt.Errorf("connection info: %v", items)
	}
	return items[0].Msg, nil
}

// memberConnected records a member connection up; as the member's host
// we announce it and introduce the others to it (CH-GRP-INTRO-1..2); a
// connection made by introduction is reported to our host (CH-GRP-INTRO-6).
func (c *Client) memberConnected(ctx context.Context, ua *userAgent, g Group, m Member) ([]Event, error) {
	if m.Status == MemberReady {
		return nil, nil
	}
	wasInvited := m.Status == MemberInvited && !m.Host
	var me *chatmsg.Profile
	if wasInvited {
		var err error
		if me, err = c.ourMemberProfile(ctx, g); err != nil {
			return nil, err
		}
	}
	err := c.db.Update(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(`UPDATE chat_members SET status = ? WHERE id = ?`, MemberReady, m.ID); err != nil {
			return err
		}
		if err := flushHeld(tx, g, m.ID); err != nil {
			return err
		}
		if m.Host && g.Status == GroupJoining {
			if _, err := tx.Exec(`UPDATE chat_groups SET status = ? WHERE id = ?`, GroupActive, g.ID); err != nil {
				return err
			}
			g.Status = GroupActive
		}
		conn, err := memberConn(tx, m.ID)
		if err != nil {
			return err
		}
		if !wasInvited {
			if m.Host {
				return nil
			}
			if m.Status == MemberIntroduced {
				// We joined later: probe it (CH-PROBE-1, probes.go).
				if err := probeMemberTasks(tx, c.cfg.Rand, g, m, conn); err != nil {
					return err
				}
			}
			// Made by introduction: tell our host (CH-GRP-INTRO-6).
			var hc *string
			err := tx.QueryRow(`SELECT conn_id FROM chat_members WHERE group_id = ? AND host = 1 AND status = ?`, g.ID, MemberReady).Scan(&hc)
			if err != nil || hc == nil {
				return nil // we made the group: no host
			}
			return addTask(tx, g.UserID, task{Kind: "send", Conn: *hc, Body: encode(&chatmsg.GrpMemCon{MemberID: m.MemberID})})
		}
		// We are its host. A member that came by our group link first
		// gets our profile (CH-GRP-LINK-3).
		var viaLink bool
		if err := tx.QueryRow(`SELECT via_link FROM chat_members WHERE id = ?`, m.ID).Scan(&viaLink); err != nil {
			return err
		}
		if viaLink {
			if err := addTask(tx, g.UserID, task{Kind: "send", Conn: conn, Body: encode(&chatmsg.GrpLinkMem{Profile: me})}); err != nil {
				return err
			}
		}
		// Announce it and introduce the others to it: every current
		// member, those we are still connecting with included (what they
		// are owed waits for their connection, sendOrHold).
		rows, err := tx.Query(`SELECT `+memberCols+`, coalesce(conn_id, '') FROM chat_members WHERE group_id = ? AND status IN (?, ?, ?, ?) AND id != ?`,
			g.ID, MemberReady, MemberAnnounced, MemberIntroduced, MemberConnecting, m.ID)
		if err != nil {
			return err
		}
		type peer struct {
			m    Member
			conn string
		}
		var others []peer
		for rows.Next() {
			var p peer
			var pb []byte
			x := &p.m
			if err := rows.Scan(&x.ID, &x.GroupID, &x.MemberID, &x.Role, &pb, &x.Status, &x.Host, &p.conn); err != nil {
				rows.Close()
				return err
			}
			if pb != nil {
				x.Profile, _ = parseInfo(pb)
			}
			others = append(others, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, p := range others {
			if _, err := tx.Exec(`INSERT INTO chat_intros (new_member, old_member) VALUES (?, ?) ON CONFLICT DO NOTHING`, m.ID, p.m.ID); err != nil {
				return err
			}
			if err := sendOrHold(tx, g, p.m, encode(&chatmsg.GrpMemNew{MemberInfo: memberInfo(m)})); err != nil {
				return err
			}
			if err := addTask(tx, g.UserID, task{Kind: "send", Conn: conn, Body: encode(&chatmsg.GrpMemIntro{MemberInfo: memberInfo(p.m)})}); err != nil {
				return err
			}
		}
		if !historyOn(g) {
			return nil
		}
		// Then the recent history, after the introductions of its
		// authors (CH-GRP-HIST-1).
		bodies, err := c.historyBodies(tx, g)
		if err != nil {
			return err
		}
		for _, b := range bodies {
			if err := addTask(tx, g.UserID, task{Kind: "send", Conn: conn, Body: b}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.Status = MemberReady
	return []Event{MemberConnected{Group: g, Member: m}}, nil
}

// onMemberMessage applies the chat messages of one agent message of a
// member connection, once, then does the agent work they ask for.
func (c *Client) onMemberMessage(ctx context.Context, ua *userAgent, g Group, m Member, conn string, ev agent.Event) ([]Event, error) {
	items, perr := chatmsg.ParseBody(ev.Body)
	var out []Event
	err := c.db.Update(ctx, func(tx *db.Tx) error {
		out = nil
		res, err := tx.Exec(`INSERT INTO chat_member_received (member, agent_msg) VALUES (?, ?) ON CONFLICT DO NOTHING`, m.ID, ev.MsgID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		for _, it := range items {
			if it.Err != nil {
				out = append(out, Error{UserID: g.UserID, Err: fmt.Errorf("chat: group %d member %d: %w", g.ID, m.ID, it.Err)})
				continue
			}
			e, err := c.applyMember(tx, g, m, it.Msg, false)
			if err != nil {
				return err
			}
			if e != nil {
				out = append(out, e)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rcpt := wantsReceipt(items)
	if rcpt {
		var n int
		err := c.db.View(ctx, func(tx *db.Tx) error {
			return tx.QueryRow(`SELECT count(*) FROM chat_members WHERE group_id = ? AND status NOT IN (?, ?, ?)`, g.ID, MemberInvited, MemberHasLeft, MemberWasRemoved).Scan(&n)
		})
		// Small groups only: upstream counts its current members, itself
		// included.
		rcpt = err == nil && n+1 <= smallGroupReceipts
	}
	if err := c.ack(ctx, ua, conn, ev.MsgID, rcpt); err != nil {
		c.cfg.Log.Debug("chat: ack", "err", err)
	}
	return out, perr
}

// applyMember applies one group event from member m in tx (CH-ROLE-3:
// what the sender's role does not allow is reported, not applied). Agent
// work it decides is recorded as tasks in tx.
func (c *Client) applyMember(tx *db.Tx, g Group, m Member, msg *chatmsg.Message, forwarded bool) (Event, error) {
	refuse := func(what string) (Event, error) {
		return Error{UserID: g.UserID, Err: fmt.Errorf("chat: group %d: %s from role %s (CH-ROLE-3)", g.ID, what, m.Role)}, nil
	}
	if g.closed() || m.gone() {
		// Nothing more counts in a group we left, were removed from or
		// that was deleted, nor from a member that left or was removed
		// (CH-GRP-DEL-2..3, CH-GRP-LEAVE-1).
		return nil, nil
	}
	// What the host forwards of m's events, once applied (CH-FWD-1).
	fwd := func() error {
		if forwarded {
			return nil
		}
		return forwards(tx, g, m, msg)
	}
	if e, handled, err := c.applyManage(tx, g, m, msg, fwd); handled || err != nil {
		return e, err
	}
	switch e := msg.Event.(type) {
	case *chatmsg.Probe, *chatmsg.ProbeCheck, *chatmsg.ProbeOK:
		if forwarded {
			return nil, nil // probes are between the two ends of a connection
		}
		return c.onMemberProbe(tx, g, m, e) // probes.go
	case *chatmsg.MsgNew:
		if !m.Role.AtLeast(chatmsg.RoleMember) {
			return refuse("a message")
		}
		if e.Content == nil {
			return nil, nil
		}
		id, err := insertGroupItem(tx, g.ID, m.ID, msg.MsgID, newBody(msg.MsgID, e.Container), e.Content.DisplayText())
		if err != nil || id == 0 {
			return nil, err
		}
		it, err := loadGroupItem(tx, id)
		if err != nil {
			return nil, err
		}
		if !forwarded {
			err = forwards(tx, g, m, msg)
		}
		return NewGroupItem{Item: it}, err
	case *chatmsg.GrpMsgForward:
		// Only from a member that can host (an admin or owner, as
		// upstream checks), and not nested (CH-FWD-2).
		if forwarded || !m.Role.AtLeast(chatmsg.RoleAdmin) || e.Msg == nil || e.MemberID == nil {
			return Error{UserID: g.UserID, Err: fmt.Errorf("chat: group %d: x.grp.msg.forward from a %s", g.ID, m.Role)}, nil
		}
		author, err := loadMember(tx, `group_id = ? AND member_id = ?`, g.ID, e.MemberID)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return c.applyMember(tx, g, author, e.Msg, true)
	case *chatmsg.GrpMemNew:
		if !m.Role.AtLeast(chatmsg.RoleAdmin) {
			return refuse("x.grp.mem.new")
		}
		if e.MemberInfo == nil || string(e.MemberInfo.MemberID) == string(g.MemberID) {
			return nil, nil
		}
		_, err := tx.Exec(`INSERT INTO chat_members (group_id, member_id, role, profile, status) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			g.ID, e.MemberInfo.MemberID, e.MemberInfo.Role, profileOf(e.MemberInfo), MemberAnnounced)
		if err != nil {
			return nil, err
		}
		return nil, fwd()
	case *chatmsg.GrpMemIntro:
		// We are new: make an invitation for the introduced member and
		// return it to the host (CH-GRP-INTRO-3).
		if !m.Host || e.MemberInfo == nil {
			return nil, nil
		}
		mi := e.MemberInfo
		res, err := tx.Exec(`INSERT INTO chat_members (group_id, member_id, role, profile, status) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			g.ID, mi.MemberID, mi.Role, profileOf(mi), MemberIntroduced)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, nil
		}
		rowID, err := res.LastInsertId()
		if err != nil {
			return nil, err
		}
		hostConn, err := memberConn(tx, m.ID)
		if err != nil {
			return nil, err
		}
		return nil, addTask(tx, g.UserID, task{Kind: "intro_inv", Member: rowID, MemberID: mi.MemberID, Conn: hostConn})
	case *chatmsg.GrpMemInv:
		// The new member's invitation for a member we introduced to it:
		// pass it on (CH-GRP-INTRO-4), only for our own introductions.
		if e.Intro == nil {
			return nil, nil
		}
		old, err := loadMember(tx, `group_id = ? AND member_id = ?`, g.ID, e.MemberID)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM chat_intros WHERE new_member = ? AND old_member = ?`, m.ID, old.ID).Scan(&n); err != nil || n == 0 {
			return nil, err
		}
		return nil, sendOrHold(tx, g, old, encode(&chatmsg.GrpMemFwd{MemberInfo: memberInfo(m), Intro: e.Intro}))
	case *chatmsg.GrpMemFwd:
		// The new member's invitation: join it with our member info
		// (CH-GRP-INTRO-5). From the new member's host: an admin or
		// owner not below the new member's role, as upstream checks.
		if e.MemberInfo == nil || e.Intro == nil {
			return nil, nil
		}
		if !m.Role.AtLeast(chatmsg.RoleAdmin) || e.MemberInfo.Role.Rank() > m.Role.Rank() {
			return refuse("x.grp.mem.fwd")
		}
		mi := e.MemberInfo
		if _, err := tx.Exec(`INSERT INTO chat_members (group_id, member_id, role, profile, status) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			g.ID, mi.MemberID, mi.Role, profileOf(mi), MemberAnnounced); err != nil {
			return nil, err
		}
		nm, err := loadMember(tx, `group_id = ? AND member_id = ?`, g.ID, mi.MemberID)
		if err != nil || nm.Status != MemberAnnounced {
			return nil, err
		}
		return nil, addTask(tx, g.UserID, task{Kind: "join_member", Member: nm.ID, Group: g.ID, Link: e.Intro.GroupConnReq})
	case *chatmsg.GrpMemCon:
		// A pair we introduced is connected: stop forwarding for it.
		other, err := loadMember(tx, `group_id = ? AND member_id = ?`, g.ID, e.MemberID)
		if err != nil {
			return nil, nil
		}
		_, err = tx.Exec(`UPDATE chat_intros SET connected = 1 WHERE (new_member = ? AND old_member = ?) OR (new_member = ? AND old_member = ?)`, m.ID, other.ID, other.ID, m.ID)
		return nil, err
	case *chatmsg.GrpLeave:
		// CH-GRP-LEAVE-1: no more sending to it. Its connection stays
		// until the user deletes the group: deleting it now could drop
		// the receipt a leaving member of an earlier revision waits for.
		if _, err := tx.Exec(`UPDATE chat_members SET status = ? WHERE id = ?`, MemberHasLeft, m.ID); err != nil {
			return nil, err
		}
		m.Status = MemberHasLeft
		return MemberLeft{Group: g, Member: m}, fwd()
	case *chatmsg.GrpMemDel:
		if string(e.MemberID) == string(g.MemberID) {
			if !m.Role.AtLeast(chatmsg.RoleAdmin) || g.Role.Rank() > m.Role.Rank() {
				return refuse("our removal")
			}
			// CH-GRP-DEL-2: we stop sending; the history stays, without
			// our messages when the remover asks (CH-GRP-DEL-1).
			if _, err := tx.Exec(`UPDATE chat_groups SET status = ? WHERE id = ?`, GroupRemoved, g.ID); err != nil {
				return nil, err
			}
			if e.Messages {
				if _, err := tx.Exec(`UPDATE chat_group_items SET deleted = 1, moderated_by = ? WHERE group_id = ? AND author IS NULL AND sent = 1`, m.ID, g.ID); err != nil {
					return nil, err
				}
			}
			g.Status = GroupRemoved
			return MemberRemoved{Group: g, Member: Member{GroupID: g.ID, MemberID: g.MemberID, Role: g.Role, Status: MemberWasRemoved}, By: m}, fwd()
		}
		target, err := loadMember(tx, `group_id = ? AND member_id = ?`, g.ID, e.MemberID)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		if !m.Role.AtLeast(chatmsg.RoleAdmin) || target.Role.Rank() > m.Role.Rank() {
			return refuse("x.grp.mem.del")
		}
		if _, err := tx.Exec(`UPDATE chat_members SET status = ? WHERE id = ?`, MemberWasRemoved, target.ID); err != nil {
			return nil, err
		}
		if e.Messages {
			// Its messages go too (CH-GRP-DEL-1), marked as moderated.
			if _, err := tx.Exec(`UPDATE chat_group_items SET deleted = 1, moderated_by = ? WHERE group_id = ? AND author = ?`, m.ID, g.ID, target.ID); err != nil {
				return nil, err
			}
		}
		target.Status = MemberWasRemoved
		return MemberRemoved{Group: g, Member: target, By: m}, fwd()
	}
	return nil, nil
}

func profileOf(mi *chatmsg.MemberInfo) []byte {
	if mi.Profile == nil {
		return nil
	}
	return infoBody(mi.Profile.Redacted())
}

func memberConn(tx *db.Tx, id int64) (string, error) {
	var conn *string
	if err := tx.QueryRow(`SELECT conn_id FROM chat_members WHERE id = ?`, id).Scan(&conn); err != nil {
		return "", err
	}
	if conn == nil {
		return "", fmt.Errorf("chat: member %d has no connection", id)
	}
	return *conn, nil
}

// forwards records the forwarding a host owes for a message of member m:
// to each member it introduced to m, or m to, while that pair is not
// connected (CH-FWD-1); kept for one we are still connecting with
// (sendOrHold).
func forwards(tx *db.Tx, g Group, m Member, msg *chatmsg.Message) error {
	rows, err := tx.Query(`SELECT x.id, x.status FROM chat_intros i JOIN chat_members x ON x.id = CASE WHEN i.new_member = ? THEN i.old_member ELSE i.new_member END
		WHERE (i.new_member = ? OR i.old_member = ?) AND i.connected = 0 AND x.status IN (?, ?, ?, ?)`,
		m.ID, m.ID, m.ID, MemberReady, MemberAnnounced, MemberIntroduced, MemberConnecting)
	if err != nil {
		return err
	}
	var to []Member
	for rows.Next() {
		var x Member
		if err := rows.Scan(&x.ID, &x.Status); err != nil {
			rows.Close()
			return err
		}
		to = append(to, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	body := encode(&chatmsg.GrpMsgForward{MemberID: m.MemberID, Msg: msg, MsgTs: time.Now().UTC().Truncate(time.Millisecond)})
	for _, x := range to {
		if err := sendOrHold(tx, g, x, body); err != nil {
			return err
		}
	}
	return nil
}

// dropMemberConn deletes our connection with a member that left or was
// removed.
func (c *Client) dropMemberConn(ctx context.Context, ua *userAgent, memberID int64, conn string) error {
	if err := ua.a.Delete(ctx, conn); err != nil {
		c.cfg.Log.Debug("chat: delete member connection", "err", err)
	}
	return c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`UPDATE chat_members SET conn_id = NULL, del_msg = NULL WHERE id = ?`, memberID)
		return err
	})
}

// sendOrHold sends body to member x, or keeps it for x until our
// connection with it is up (flushHeld).
func sendOrHold(tx *db.Tx, g Group, x Member, body []byte) error {
	if x.Status == MemberReady {
		conn, err := memberConn(tx, x.ID)
		if err != nil {
			return err
		}
		return addTask(tx, g.UserID, task{Kind: "send", Conn: conn, Body: body})
	}
	_, err := tx.Exec(`INSERT INTO chat_pending (member, body) VALUES (?, ?)`, x.ID, body)
	return err
}

// flushHeld sends what was kept for a member whose connection is now up.
func flushHeld(tx *db.Tx, g Group, memberID int64) error {
	bodies, err := column[[]byte](tx, `SELECT body FROM chat_pending WHERE member = ? ORDER BY id`, memberID)
	if err != nil || len(bodies) == 0 {
		return err
	}
	conn, err := memberConn(tx, memberID)
	if err != nil {
		return err
	}
	for _, b := range bodies {
		if err := addTask(tx, g.UserID, task{Kind: "send", Conn: conn, Body: b}); err != nil {
			return err
		}
	}
	_, err = tx.Exec(`DELETE FROM chat_pending WHERE member = ?`, memberID)
	return err
}
