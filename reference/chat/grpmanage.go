package chat

import (
	"context"
	"fmt"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

func (c *Client) group(ctx context.Context, id int64) (Group, error) {
	var g Group
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		g, err = loadGroup(tx, id)
		return err
	})
	return g, err
}

// toGroup commits change (may be nil) with a task per connected member of
// the group that sends body, as one transaction of the group's user.
func (c *Client) toGroup(ctx context.Context, g Group, body []byte, change func(tx *db.Tx) error) error {
	ua, err := c.user(g.UserID)
	if err != nil {
		return err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	return c.commit(ctx, ua, func(tx *db.Tx) error {
		if change != nil {
			if err := change(tx); err != nil {
				return err
			}
		}
		_, conns, err := readyMembers(tx, g.ID)
		if err != nil {
			return err
		}
		for _, conn := range conns {
			if err := addTask(tx, g.UserID, task{Kind: "send", Conn: conn, Body: body}); err != nil {
				return err
			}
		}
		return nil
	})
}

// ChangeMemberRole sets a member's role (x.grp.mem.role to every member,
// the member included, CH-GRP-ROLE-1). Admins and owners only, for a
// member not above their own role and to a role not above it (CH-ROLE-2).
func (c *Client) ChangeMemberRole(ctx context.Context, groupID, memberID int64, role chatmsg.Role) error {
	g, err := c.group(ctx, groupID)
	if err != nil {
		return err
	}
	var target Member
	if err := c.db.View(ctx, func(tx *db.Tx) error {
		target, err = loadMember(tx, `id = ? AND group_id = ?`, memberID, groupID)
		return err
	}); err != nil {
		return err
	}
	if g.Status != GroupActive || !g.Role.AtLeast(chatmsg.RoleAdmin) || target.Role.Rank() > g.Role.Rank() ||
		role.Rank() > g.Role.Rank() || role.Rank() < chatmsg.RoleObserver.Rank() || target.gone() {
		return fmt.Errorf("chat: a %s cannot make a %s %s (CH-ROLE-2)", g.Role, target.Role, role)
	}
	return c.toGroup(ctx, g, encode(&chatmsg.GrpMemRole{MemberID: target.MemberID, Role: role}), func(tx *db.Tx) error {
		_, err := tx.Exec(`UPDATE chat_members SET role = ? WHERE id = ?`, role, target.ID)
		return err
	})
}

// UpdateGroupProfile changes the group profile (x.grp.info to every
// member, CH-GRP-INFO-1); owners only.
func (c *Client) UpdateGroupProfile(ctx context.Context, groupID int64, p chatmsg.GroupProfile) (Group, error) {
	if err := chatmsg.ValidDisplayName(p.DisplayName); err != nil {
		return Group{}, fmt.Errorf("chat: group name: %w", err)
	}
	g, err := c.group(ctx, groupID)
	if err != nil {
		return Group{}, err
	}
	if g.Status != GroupActive || g.Role != chatmsg.RoleOwner {
		return Group{}, fmt.Errorf("chat: a %s cannot change the group profile (CH-ROLE-2)", g.Role)
	}
	err = c.toGroup(ctx, g, encode(&chatmsg.GrpInfo{GroupProfile: &p}), func(tx *db.Tx) error {
		_, err := tx.Exec(`UPDATE chat_groups SET profile = ? WHERE id = ?`, groupBody(&p), groupID)
		return err
	})
	if err != nil {
		return Group{}, err
	}
	return c.group(context.WithoutCancel(ctx), groupID)
}

// DeleteGroup deletes a group. The owner of an active group first tells
// every member (x.grp.del, CH-GRP-DEL-3): the group stays, deleted, with
// its history, and each member connection goes once a relay accepted the
// message to that member (SENT, CH-RCPT-1). A group we left, were removed from, that its owner deleted, or
// an invitation not accepted is removed here with its connections and
// history. A current member that is not an owner leaves instead.
func (c *Client) DeleteGroup(ctx context.Context, groupID int64) error {
	g, err := c.group(ctx, groupID)
	if err != nil {
		return err
	}
	ua, err := c.user(g.UserID)
	if err != nil {
		return err
	}
	if g.Status == GroupActive {
		if g.Role != chatmsg.RoleOwner {
			return fmt.Errorf("chat: a %s cannot delete the group: leave it (CH-ROLE-2)", g.Role)
		}
		c.dropGroupLink(ctx, ua, groupID)
		ua.mu.Lock()
		defer ua.mu.Unlock()
		return c.commit(ctx, ua, func(tx *db.Tx) error {
			return departGroup(tx, g.UserID, groupID, GroupWasDeleted, &chatmsg.GrpDel{})
		})
	}
	c.dropGroupLink(ctx, ua, groupID)
	var conns []string
	if err := c.db.View(ctx, func(tx *db.Tx) error {
		conns, err = column[string](tx, `SELECT conn_id FROM chat_members WHERE group_id = ? AND conn_id IS NOT NULL`, groupID)
		return err
	}); err != nil {
		return err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	for _, conn := range conns {
		if err := ua.a.Delete(ctx, conn); err != nil {
			c.cfg.Log.Debug("chat: delete group: member connection", "err", err)
		}
	}
	return c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`DELETE FROM chat_groups WHERE id = ?`, groupID)
		return err
	})
}

// GroupItem returns one group item.
func (c *Client) GroupItem(ctx context.Context, id int64) (GroupItem, error) {
	var it GroupItem
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		it, err = loadGroupItem(tx, id)
		return err
	})
	return it, err
}

// activeGroupItem loads an item for a change that every member hears of.
func (c *Client) activeGroupItem(ctx context.Context, itemID int64) (GroupItem, Group, error) {
	it, err := c.GroupItem(ctx, itemID)
	if err != nil {
		return GroupItem{}, Group{}, err
	}
	g, err := c.group(ctx, it.GroupID)
	if err != nil {
		return GroupItem{}, Group{}, err
	}
	if g.Status != GroupActive || !g.Role.AtLeast(chatmsg.RoleMember) {
		return GroupItem{}, Group{}, fmt.Errorf("chat: cannot change items of group %d as %s (%s)", g.ID, g.Role, g.Status)
	}
	if it.Deleted || it.SharedID == nil {
		return GroupItem{}, Group{}, fmt.Errorf("chat: group item %d cannot be changed", itemID)
	}
	return it, g, nil
}

// UpdateGroupMessage edits a message we sent to a group (x.msg.update to
// every member, CH-MSG-UPD-1..2).
func (c *Client) UpdateGroupMessage(ctx context.Context, itemID int64, content chatmsg.Content) (GroupItem, error) {
	it, g, err := c.activeGroupItem(ctx, itemID)
	if err != nil {
		return GroupItem{}, err
	}
	if !it.Sent {
		return GroupItem{}, fmt.Errorf("chat: group item %d was received: only own messages are edited", itemID)
	}
	err = c.toGroup(ctx, g, encode(&chatmsg.MsgUpdate{MsgID: it.SharedID, Content: &content}), func(tx *db.Tx) error {
		return setGroupContent(tx, itemID, &content)
	})
	if err != nil {
		return GroupItem{}, err
	}
	return c.GroupItem(context.WithoutCancel(ctx), itemID)
}

// DeleteGroupMessage deletes a group item: only here, or for everyone
// (x.msg.del): our own message (CH-MSG-DEL-1), or another member's as a
// moderator, admin or owner whose role is at least the author's, naming
// the author (CH-MSG-DEL-2).
func (c *Client) DeleteGroupMessage(ctx context.Context, itemID int64, forEveryone bool) error {
	if !forEveryone {
		return c.db.Update(ctx, func(tx *db.Tx) error {
			res, err := tx.Exec(`DELETE FROM chat_group_items WHERE id = ?`, itemID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return fmt.Errorf("chat: group item %d: %w", itemID, ErrNotFound)
			}
			return nil
		})
	}
	it, g, err := c.activeGroupItem(ctx, itemID)
	if err != nil {
		return err
	}
	del := &chatmsg.MsgDel{MsgID: it.SharedID}
	var mod any
	if !it.Sent {
		var author Member
		if err := c.db.View(ctx, func(tx *db.Tx) error {
			author, err = loadMember(tx, `id = ?`, it.Author)
			return err
		}); err != nil {
			return err
		}
		if !g.Role.AtLeast(chatmsg.RoleModerator) || author.Role.Rank() > g.Role.Rank() {
			return fmt.Errorf("chat: a %s cannot delete a message of a %s (CH-MSG-DEL-2)", g.Role, author.Role)
		}
		del.MemberID, mod = author.MemberID, 0
	}
	return c.toGroup(ctx, g, encode(del), func(tx *db.Tx) error {
		_, err := tx.Exec(`UPDATE chat_group_items SET deleted = 1, moderated_by = ? WHERE id = ?`, mod, itemID)
		return err
	})
}

// ReactGroup adds or removes our reaction to a group item (x.msg.react
// with the author's member id, CH-MSG-REACT-1), when the group allows
// reactions.
func (c *Client) ReactGroup(ctx context.Context, itemID int64, emoji string, add bool) (GroupItem, error) {
	r := &chatmsg.Reaction{Type: "emoji", Emoji: emoji}
	if !r.Known() {
		return GroupItem{}, fmt.Errorf("chat: reaction %q is not one of chatmsg.Emojis", emoji)
	}
	it, g, err := c.activeGroupItem(ctx, itemID)
	if err != nil {
		return GroupItem{}, err
	}
	if !reactionsOn(g) {
		return GroupItem{}, fmt.Errorf("chat: group %d does not allow reactions (CH-PREF-2)", g.ID)
	}
	author := g.MemberID
	if !it.Sent {
		if err := c.db.View(ctx, func(tx *db.Tx) error {
			m, err := loadMember(tx, `id = ?`, it.Author)
			author = m.MemberID
			return err
		}); err != nil {
			return GroupItem{}, err
		}
	}
	err = c.toGroup(ctx, g, encode(&chatmsg.MsgReact{MsgID: it.SharedID, MemberID: author, Reaction: r, Add: add}), func(tx *db.Tx) error {
		return setGroupReaction(tx, itemID, 0, emoji, add)
	})
	if err != nil {
		return GroupItem{}, err
	}
	return c.GroupItem(context.WithoutCancel(ctx), itemID)
}

// addGroupProfileTasks records, in the transaction of a profile update,
// x.info with the redacted profile to every connected member of each
// active group of the user where it has the user's profile (CH-PROF-3,
// CH-PROF-4; never to an incognito membership, CH-INCOG-2). UpdateProfile
// calls it.
func addGroupProfileTasks(tx *db.Tx, userID int64, p *chatmsg.Profile) error {
	conns, err := column[string](tx, `SELECT m.conn_id FROM chat_members m JOIN chat_groups g ON g.id = m.group_id
		WHERE g.user_id = ? AND g.status = ? AND g.incognito IS NULL AND m.status = ? AND m.conn_id IS NOT NULL`, userID, GroupActive, MemberReady)
	if err != nil {
		return err
	}
	body := infoBody(p.Redacted())
	for _, conn := range conns {
		if err := addTask(tx, userID, task{Kind: "send", Conn: conn, Body: body}); err != nil {
			return err
		}
	}
	return nil
}
