package chat

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// GroupItemUpdated: a group message was edited (x.msg.update), deleted
// for everyone or moderated (x.msg.del), or reacted to (x.msg.react).
type GroupItemUpdated struct{ Item GroupItem }

// MemberRoleChanged: an admin changed a member's role (x.grp.mem.role,
// CH-GRP-ROLE-1); when it is ours, Member.ID is 0 and Group.Role is the
// new role.
type MemberRoleChanged struct {
	Group    Group
	Member   Member
	By       Member
	From, To chatmsg.Role
}

// GroupUpdated: the owner changed the group profile (x.grp.info,
// CH-GRP-INFO-1).
type GroupUpdated struct {
	Group Group
	By    Member
}

// GroupDeleted: the owner deleted the group (x.grp.del, CH-GRP-DEL-3); its
// status is GroupWasDeleted and nothing more is sent or accepted in it.
type GroupDeleted struct {
	Group Group
	By    Member
}

// MemberUpdated: a member sent a new profile (x.info, CH-PROF-3), or the
// host of a link join its full profile (x.grp.link.mem, CH-GRP-LINK-3).
type MemberUpdated struct {
	Group  Group
	Member Member
}

func (e GroupItemUpdated) User() int64  { return e.Item.UserID }
func (e MemberRoleChanged) User() int64 { return e.Group.UserID }
func (e GroupUpdated) User() int64      { return e.Group.UserID }
func (e GroupDeleted) User() int64      { return e.Group.UserID }
func (e MemberUpdated) User() int64     { return e.Group.UserID }

// closed reports whether a group takes no more events: we left, were
// removed, or the owner deleted it.
func (g Group) closed() bool {
	return g.Status == GroupLeft || g.Status == GroupRemoved || g.Status == GroupWasDeleted
}

// gone reports whether a member left or was removed.
func (m Member) gone() bool { return m.Status == MemberHasLeft || m.Status == MemberWasRemoved }

// authorOf finds the author a group event names by member id: the member
// row and its role, row 0 with our role for us.
func authorOf(tx *db.Tx, g Group, memberID []byte) (int64, chatmsg.Role, bool, error) {
	if bytes.Equal(memberID, g.MemberID) {
		return 0, g.Role, true, nil
	}
	a, err := loadMember(tx, `group_id = ? AND member_id = ?`, g.ID, memberID)
	if errors.Is(err, ErrNotFound) {
		return 0, "", false, nil
	}
	return a.ID, a.Role, err == nil, err
}

// groupItemOf finds the item of an author (a member row, 0 for ours) with
// the shared msgId (CH-MSG-2: msgIds are looked up with their author).
func groupItemOf(tx *db.Tx, groupID, author int64, shared []byte) (int64, error) {
	if shared == nil {
		return 0, nil
	}
	q, args := `SELECT id FROM chat_group_items WHERE group_id = ? AND shared_id = ? AND author = ?`, []any{groupID, shared, author}
	if author == 0 {
		q, args = `SELECT id FROM chat_group_items WHERE group_id = ? AND shared_id = ? AND author IS NULL AND sent = 1`, args[:2]
	}
	var id int64
	err := tx.QueryRow(q, args...).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// setGroupContent replaces a group item's content, keeping the rest of its
// container.
func setGroupContent(tx *db.Tx, id int64, content *chatmsg.Content) error {
	return replaceContent(tx, "chat_group_items", "group item", id, content)
}

func setGroupReaction(tx *db.Tx, itemID, member int64, reaction string, add bool) error {
	var err error
	if add {
		_, err = tx.Exec(`INSERT INTO chat_group_reactions (item_id, member, reaction) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, itemID, member, reaction)
	} else {
		_, err = tx.Exec(`DELETE FROM chat_group_reactions WHERE item_id = ? AND member = ? AND reaction = ?`, itemID, member, reaction)
	}
	return err
}

func groupPrefOn(p *chatmsg.GroupPreferences, pick func(*chatmsg.GroupPreferences) *chatmsg.GroupPreference, dflt bool) bool {
	if p == nil || pick(p) == nil {
		return dflt
	}
	return pick(p).Enable == "on"
}

// historyOn reports the group's history preference (CH-PREF-2: off by
// default).
func historyOn(g Group) bool {
	return groupPrefOn(g.Profile.GroupPreferences, func(p *chatmsg.GroupPreferences) *chatmsg.GroupPreference { return p.History }, false)
}

func reactionsOn(g Group) bool {
	return groupPrefOn(g.Profile.GroupPreferences, func(p *chatmsg.GroupPreferences) *chatmsg.GroupPreference { return p.Reactions }, true)
}

func itemEvent(tx *db.Tx, id int64) (Event, error) {
	it, err := loadGroupItem(tx, id)
	if err != nil {
		return nil, err
	}
	return GroupItemUpdated{Item: it}, nil
}

// applyManage applies the group events that change the group's items,
// roles, profile or existence, with their role checks (CH-ROLE-3). fwd
// records the forwarding the event is owed when it is applied (CH-FWD-1).
func (c *Client) applyManage(tx *db.Tx, g Group, m Member, msg *chatmsg.Message, fwd func() error) (Event, bool, error) {
	refuse := func(what string) (Event, bool, error) {
		return Error{UserID: g.UserID, Err: fmt.Errorf("chat: group %d: %s from role %s (CH-ROLE-3)", g.ID, what, m.Role)}, true, nil
	}
	switch e := msg.Event.(type) {
	case *chatmsg.MsgUpdate:
		if !m.Role.AtLeast(chatmsg.RoleMember) {
			return refuse("x.msg.update")
		}
		if e.Content == nil || e.MsgID == nil {
			return nil, true, nil
		}
		id, err := groupItemOf(tx, g.ID, m.ID, e.MsgID)
		if err != nil {
			return nil, true, err
		}
		if id == 0 {
			// An update of an item we do not have makes it (CH-MSG-UPD-1).
			if id, err = insertGroupItem(tx, g.ID, m.ID, e.MsgID, newBody(e.MsgID, chatmsg.Container{Content: e.Content}), e.Content.DisplayText()); err != nil || id == 0 {
				return nil, true, err
			}
			it, err := loadGroupItem(tx, id)
			if err != nil {
				return nil, true, err
			}
			return NewGroupItem{Item: it}, true, fwd()
		}
		var deleted bool
		if err := tx.QueryRow(`SELECT deleted FROM chat_group_items WHERE id = ?`, id).Scan(&deleted); err != nil || deleted {
			return nil, true, err
		}
		if err := setGroupContent(tx, id, e.Content); err != nil {
			return nil, true, err
		}
		ev, err := itemEvent(tx, id)
		if err != nil {
			return nil, true, err
		}
		return ev, true, fwd()
	case *chatmsg.MsgDel:
		if e.MsgID == nil {
			return nil, true, nil
		}
		author, authorRole, mod := m.ID, m.Role, any(nil)
		if e.MemberID != nil && !bytes.Equal(e.MemberID, m.MemberID) {
			// Moderation (CH-MSG-DEL-2).
			var ok bool
			var err error
			if author, authorRole, ok, err = authorOf(tx, g, e.MemberID); err != nil || !ok {
				return nil, true, err
			}
			if !m.Role.AtLeast(chatmsg.RoleModerator) || authorRole.Rank() > m.Role.Rank() {
				return refuse(fmt.Sprintf("deleting a message of a %s", authorRole))
			}
			mod = m.ID
		}
		id, err := groupItemOf(tx, g.ID, author, e.MsgID)
		if err != nil || id == 0 {
			return nil, true, err
		}
		if _, err := tx.Exec(`UPDATE chat_group_items SET deleted = 1, moderated_by = ? WHERE id = ?`, mod, id); err != nil {
			return nil, true, err
		}
		ev, err := itemEvent(tx, id)
		if err != nil {
			return nil, true, err
		}
		return ev, true, fwd()
	case *chatmsg.MsgReact:
		if !m.Role.AtLeast(chatmsg.RoleMember) {
			return refuse("x.msg.react")
		}
		if e.Reaction == nil || !e.Reaction.Known() || e.MemberID == nil || !reactionsOn(g) {
			return nil, true, nil // CH-MSG-REACT-2, CH-PREF-3
		}
		author, _, ok, err := authorOf(tx, g, e.MemberID)
		if err != nil || !ok {
			return nil, true, err
		}
		id, err := groupItemOf(tx, g.ID, author, e.MsgID)
		if err != nil || id == 0 {
			return nil, true, err
		}
		if err := setGroupReaction(tx, id, m.ID, e.Reaction.Emoji, e.Add); err != nil {
			return nil, true, err
		}
		ev, err := itemEvent(tx, id)
		if err != nil {
			return nil, true, err
		}
		return ev, true, fwd()
	case *chatmsg.GrpMemRole:
		if e.MemberID == nil {
			return nil, true, nil
		}
		target, ok := Member{GroupID: g.ID, MemberID: g.MemberID, Role: g.Role, Status: MemberReady}, true
		if !bytes.Equal(e.MemberID, g.MemberID) {
			var err error
			if target, err = loadMember(tx, `group_id = ? AND member_id = ?`, g.ID, e.MemberID); errors.Is(err, ErrNotFound) {
				ok = false
			} else if err != nil {
				return nil, true, err
			}
		}
		if !ok {
			return nil, true, nil
		}
		// Not from below admin, not of a member above the sender, not to
		// a role above the sender's (CH-ROLE-2).
		if !m.Role.AtLeast(chatmsg.RoleAdmin) || target.Role.Rank() > m.Role.Rank() || e.Role.Rank() > m.Role.Rank() {
			return refuse(fmt.Sprintf("x.grp.mem.role of a %s to %s", target.Role, e.Role))
		}
		from := target.Role
		var err error
		if target.ID == 0 {
			_, err = tx.Exec(`UPDATE chat_groups SET role = ? WHERE id = ?`, e.Role, g.ID)
			g.Role = e.Role
		} else {
			_, err = tx.Exec(`UPDATE chat_members SET role = ? WHERE id = ?`, e.Role, target.ID)
		}
		if err != nil {
			return nil, true, err
		}
		target.Role = e.Role
		return MemberRoleChanged{Group: g, Member: target, By: m, From: from, To: e.Role}, true, fwd()
	case *chatmsg.GrpDel:
		if m.Role != chatmsg.RoleOwner {
			return refuse("x.grp.del")
		}
		if _, err := tx.Exec(`UPDATE chat_groups SET status = ? WHERE id = ?`, GroupWasDeleted, g.ID); err != nil {
			return nil, true, err
		}
		g.Status = GroupWasDeleted
		return GroupDeleted{Group: g, By: m}, true, fwd()
	case *chatmsg.GrpInfo:
		if m.Role != chatmsg.RoleOwner {
			return refuse("x.grp.info")
		}
		if e.GroupProfile == nil {
			return nil, true, nil
		}
		if _, err := tx.Exec(`UPDATE chat_groups SET profile = ? WHERE id = ?`, groupBody(e.GroupProfile), g.ID); err != nil {
			return nil, true, err
		}
		g.Profile = *e.GroupProfile
		return GroupUpdated{Group: g, By: m}, true, fwd()
	case *chatmsg.Info:
		if e.Profile == nil {
			return nil, true, nil
		}
		m.Profile = e.Profile.Redacted()
		if _, err := tx.Exec(`UPDATE chat_members SET profile = ? WHERE id = ?`, infoBody(m.Profile), m.ID); err != nil {
			return nil, true, err
		}
		return MemberUpdated{Group: g, Member: m}, true, fwd()
	case *chatmsg.GrpLinkMem:
		// The host of our link join, once connected (CH-GRP-LINK-3).
		if !m.Host || e.Profile == nil {
			return nil, true, nil
		}
		m.Profile = e.Profile.Redacted()
		if _, err := tx.Exec(`UPDATE chat_members SET profile = ? WHERE id = ?`, infoBody(m.Profile), m.ID); err != nil {
			return nil, true, err
		}
		return MemberUpdated{Group: g, Member: m}, true, nil
	}
	return nil, false, nil
}

// historyItems is how many recent items a new member gets (upstream's
// sendHistory).
const historyItems = 100

// historyBodies is the recent history of the group for a new member
// (CH-GRP-HIST-1): up to historyItems items not deleted, oldest first,
// each as x.grp.msg.forward with its author's member id (ours for ours),
// the time we have for it and its x.msg.new as it stands now; then the
// welcome message (the group description) as our own x.msg.new; in JSON
// batches (CH-SIZE-2). Items whose author we no longer know are left out.
func (c *Client) historyBodies(tx *db.Tx, g Group) ([][]byte, error) {
	rows, err := tx.Query(`SELECT i.sent, m.member_id, i.content, i.created_at FROM chat_group_items i LEFT JOIN chat_members m ON m.id = i.author
		WHERE i.group_id = ? AND i.deleted = 0 AND i.shared_id IS NOT NULL ORDER BY i.id DESC LIMIT ?`, g.ID, historyItems)
	if err != nil {
		return nil, err
	}
	var msgs [][]byte
	for rows.Next() {
		var sent bool
		var author, cb []byte
		var created int64
		if err := rows.Scan(&sent, &author, &cb, &created); err != nil {
			rows.Close()
			return nil, err
		}
		if sent {
			author = g.MemberID
		}
		m, err := chatmsg.ParseMessage(cb)
		if author == nil || err != nil {
			continue
		}
		msgs = append(msgs, encode(&chatmsg.GrpMsgForward{MemberID: author, Msg: m, MsgTs: time.UnixMilli(created).UTC()}))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	if d := g.Profile.Description; d != nil && *d != "" {
		id, err := chatmsg.NewID(c.cfg.Rand)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, newBody(id, chatmsg.Container{Content: &chatmsg.Content{Type: chatmsg.ContentText, Text: *d, HasText: true}}))
	}
	kept := msgs[:0]
	for _, m := range msgs {
		if len(m) <= chatmsg.MaxEncodedMsgLength {
			kept = append(kept, m)
		}
	}
	if len(kept) == 0 {
		return nil, nil
	}
	return chatmsg.Batch(chatmsg.MaxEncodedMsgLength, kept...)
}
