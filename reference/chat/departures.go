package chat

import (
	"context"
	"fmt"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// readyMembers lists the group's connected members and their connections.
func readyMembers(tx *db.Tx, groupID int64) ([]Member, []string, error) {
	rows, err := tx.Query(`SELECT `+memberCols+`, conn_id FROM chat_members WHERE group_id = ? AND status = ?`, groupID, MemberReady)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var ms []Member
	var conns []string
	for rows.Next() {
		var m Member
		var pb []byte
		var conn string
		if err := rows.Scan(&m.ID, &m.GroupID, &m.MemberID, &m.Role, &pb, &m.Status, &m.Host, &conn); err != nil {
			return nil, nil, err
		}
		if pb != nil {
			m.Profile, _ = parseInfo(pb)
		}
		ms, conns = append(ms, m), append(conns, conn)
	}
	return ms, conns, rows.Err()
}

// LeaveGroup leaves a group (x.grp.leave to every member, CH-GRP-LEAVE-1).
// Each member connection is deleted once a relay accepted the message
// (SENT, CH-RCPT-1); the history stays.
func (c *Client) LeaveGroup(ctx context.Context, groupID int64) error {
	var g Group
	if err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		g, err = loadGroup(tx, groupID)
		return err
	}); err != nil {
		return err
	}
	if g.Status != GroupActive {
		return fmt.Errorf("chat: group %d is %s", groupID, g.Status)
	}
	ua, err := c.user(g.UserID)
	if err != nil {
		return err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	return c.commit(ctx, ua, func(tx *db.Tx) error {
		return departGroup(tx, g.UserID, groupID, GroupLeft, &chatmsg.GrpLeave{})
	})
}

// departGroup sets a group's status and queues the goodbye (x.grp.leave or
// x.grp.del) to every connected member; each task ends that member's
// connection once sent (DelMember).
func departGroup(tx *db.Tx, userID, groupID int64, status GroupStatus, goodbye chatmsg.Event) error {
	if _, err := tx.Exec(`UPDATE chat_groups SET status = ? WHERE id = ?`, status, groupID); err != nil {
		return err
	}
	ms, conns, err := readyMembers(tx, groupID)
	if err != nil {
		return err
	}
	for i, m := range ms {
		if err := addTask(tx, userID, task{Kind: "send", Conn: conns[i], Body: encode(goodbye), DelMember: m.ID}); err != nil {
			return err
		}
	}
	return nil
}

// RemoveMember removes a member (x.grp.mem.del to every member, the
// removed one included, CH-GRP-DEL-1); only admins and owners, and not a
// member above their own role (CH-ROLE-2).
func (c *Client) RemoveMember(ctx context.Context, groupID, memberID int64) error {
	var g Group
	var target Member
	if err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		if g, err = loadGroup(tx, groupID); err != nil {
			return err
		}
		target, err = loadMember(tx, `id = ? AND group_id = ?`, memberID, groupID)
		return err
	}); err != nil {
		return err
	}
	if g.Status != GroupActive || !g.Role.AtLeast(chatmsg.RoleAdmin) || target.Role.Rank() > g.Role.Rank() {
		return fmt.Errorf("chat: a %s cannot remove a %s (CH-ROLE-2)", g.Role, target.Role)
	}
	ua, err := c.user(g.UserID)
	if err != nil {
		return err
	}
	body := encode(&chatmsg.GrpMemDel{MemberID: target.MemberID})
	ua.mu.Lock()
	defer ua.mu.Unlock()
	return c.commit(ctx, ua, func(tx *db.Tx) error {
		ms, conns, err := readyMembers(tx, groupID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE chat_members SET status = ? WHERE id = ?`, MemberWasRemoved, target.ID); err != nil {
			return err
		}
		for i, m := range ms {
			t := task{Kind: "send", Conn: conns[i], Body: body}
			if m.ID == target.ID {
				t.DelMember = m.ID
			}
			if err := addTask(tx, g.UserID, t); err != nil {
				return err
			}
		}
		return nil
	})
}
