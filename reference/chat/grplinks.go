package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/smpkit/smpkit/reference/agent"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// CreateGroupLink makes the group's link (CH-GRP-LINK-1): a contact
// address of ours whose requests join the group as role, observer or
// member (upstream allows no higher initial role). Admins and owners only;
// one link per group.
func (c *Client) CreateGroupLink(ctx context.Context, groupID int64, role chatmsg.Role) (string, error) {
	g, err := c.group(ctx, groupID)
	if err != nil {
		return "", err
	}
	if g.Status != GroupActive || !g.Role.AtLeast(chatmsg.RoleAdmin) {
		return "", fmt.Errorf("chat: a %s cannot make a group link (CH-ROLE-2)", g.Role)
	}
	if role != chatmsg.RoleObserver && role != chatmsg.RoleMember {
		return "", fmt.Errorf("chat: group link role %s: want observer or member", role)
	}
	ua, err := c.user(g.UserID)
	if err != nil {
		return "", err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	conn, link, err := ua.a.CreateContact(ctx)
	if err != nil {
		return "", fmt.Errorf("chat: group link: %w", err)
	}
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`INSERT INTO chat_group_links (group_id, conn_id, link, role) VALUES (?, ?, ?, ?)`, groupID, conn, link, role)
		return err
	})
	if err != nil {
		ua.a.Delete(ctx, conn)
		return "", fmt.Errorf("chat: group link: %w", err)
	}
	return link, nil
}

// GroupLink returns the group's link and the role it gives.
func (c *Client) GroupLink(ctx context.Context, groupID int64) (string, chatmsg.Role, error) {
	var link string
	var role chatmsg.Role
	err := c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT link, role FROM chat_group_links WHERE group_id = ?`, groupID).Scan(&link, &role)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return "", "", fmt.Errorf("chat: group %d link: %w", groupID, ErrNotFound)
	}
	return link, role, err
}

// DeleteGroupLink deletes the group's link: requests sent to it are no
// longer received.
func (c *Client) DeleteGroupLink(ctx context.Context, groupID int64) error {
	if _, _, err := c.GroupLink(ctx, groupID); err != nil {
		return err
	}
	g, err := c.group(ctx, groupID)
	if err != nil {
		return err
	}
	ua, err := c.user(g.UserID)
	if err != nil {
		return err
	}
	return c.dropGroupLink(ctx, ua, groupID)
}

func (c *Client) dropGroupLink(ctx context.Context, ua *userAgent, groupID int64) error {
	var conn string
	err := c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT conn_id FROM chat_group_links WHERE group_id = ?`, groupID).Scan(&conn)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	if err := ua.a.Delete(ctx, conn); err != nil {
		return fmt.Errorf("chat: group link: %w", err)
	}
	return c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`DELETE FROM chat_group_links WHERE group_id = ?`, groupID)
		return err
	})
}

// JoinGroupLink asks to join a group by its link as the active user: a
// contact request with x.contact and our profile for the group
// (CH-GRP-LINK-1, CH-PROF-4). The group is GroupRequested until the host's
// x.grp.link.inv brings its profile and our member id (CH-GRP-LINK-2); then
// it joins as an invited member does (MemberConnected with the host).
func (c *Client) JoinGroupLink(ctx context.Context, link string) (Group, error) {
	return c.joinGroupLink(ctx, link, false)
}

func (c *Client) joinGroupLink(ctx context.Context, link string, incognito bool) (Group, error) {
	uid, ua, err := c.activeAgent(ctx)
	if err != nil {
		return Group{}, err
	}
	g0 := Group{UserID: uid}
	if incognito {
		if g0.Incognito, err = randomProfile(c.cfg.Rand); err != nil {
			return Group{}, err
		}
	}
	p, err := c.ourMemberProfile(ctx, g0)
	if err != nil {
		return Group{}, err
	}
	var inc []byte
	if g0.Incognito != nil {
		inc = infoBody(g0.Incognito)
	}
	// Our member id and the host's are not known yet: placeholders until
	// x.grp.link.inv.
	var ids [3][]byte
	for i := range ids {
		if ids[i], err = chatmsg.NewID(c.cfg.Rand); err != nil {
			return Group{}, err
		}
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	conn, err := ua.a.JoinContact(ctx, link, encode(&chatmsg.Contact{Profile: p, ContactReqID: ids[2]}))
	if err != nil {
		return Group{}, fmt.Errorf("chat: join group link: %w", err)
	}
	var g Group
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(`INSERT INTO chat_groups (user_id, profile, member_id, role, status, created_at, incognito) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			uid, groupBody(&chatmsg.GroupProfile{}), ids[0], chatmsg.RoleMember, GroupRequested, time.Now().Unix(), inc)
		if err != nil {
			return err
		}
		gid, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO chat_members (group_id, member_id, role, conn_id, status, host) VALUES (?, ?, ?, ?, ?, 1)`,
			gid, ids[1], chatmsg.RoleAdmin, conn, MemberConnecting); err != nil {
			return err
		}
		g, err = loadGroup(tx, gid)
		return err
	})
	if err != nil {
		ua.a.Delete(ctx, conn)
		return Group{}, err
	}
	return g, nil
}

// onGroupLinkRequest accepts a request to one of our group links straight
// into a member connection, answering with x.grp.link.inv (CH-GRP-LINK-2);
// called with ua.mu held. A request to no link of ours (deleted
// meanwhile) is ignored.
func (c *Client) onGroupLinkRequest(ctx context.Context, ua *userAgent, ev agent.Event) ([]Event, error) {
	var gid int64
	var role chatmsg.Role
	err := c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT group_id, role FROM chat_group_links WHERE conn_id = ?`, ev.ConnID).Scan(&gid, &role)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var g Group
	var repeat int
	err = c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		if g, err = loadGroup(tx, gid); err != nil {
			return err
		}
		return tx.QueryRow(`SELECT count(*) FROM chat_members WHERE group_id = ? AND link_inv = ?`, gid, ev.Invitation).Scan(&repeat)
	})
	if err != nil || repeat > 0 || g.Status != GroupActive {
		return nil, err // a request delivered again, or a group we no longer run
	}
	m, err := chatmsg.ParseMessage(ev.Body)
	if err != nil {
		return nil, fmt.Errorf("group link request: %w", err)
	}
	x, ok := m.Event.(*chatmsg.Contact)
	if !ok || x.Profile == nil {
		return nil, fmt.Errorf("group link request holds %s, not x.contact", m.Event.Name())
	}
	me, err := c.ourMemberProfile(ctx, g)
	if err != nil {
		return nil, err
	}
	mid, err := chatmsg.NewID(c.cfg.Rand)
	if err != nil {
		return nil, err
	}
	inv := &chatmsg.GrpLinkInv{Invitation: &chatmsg.GroupLinkInvitation{
		FromMember:     &chatmsg.MemberIDRole{MemberID: g.MemberID, Role: g.Role},
		FromMemberName: me.DisplayName,
		InvitedMember:  &chatmsg.MemberIDRole{MemberID: mid, Role: role},
		GroupProfile:   &g.Profile,
	}}
	conn, err := ua.a.Join(ctx, ev.Invitation, encode(inv))
	if err != nil {
		return nil, fmt.Errorf("chat: accept group link request: %w", err)
	}
	return nil, c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`INSERT INTO chat_members (group_id, member_id, role, profile, conn_id, status, via_link, link_inv) VALUES (?, ?, ?, ?, ?, ?, 1, ?)`,
			gid, mid, role, infoBody(x.Profile.Redacted()), conn, MemberInvited, ev.Invitation)
		return err
	})
}

// onGroupLinkInv records the host's answer to our link join
// (CH-GRP-LINK-2): the group's profile, our member id and role, the
// host's id, role and name. A repeat after a restart changes nothing.
func (c *Client) onGroupLinkInv(ctx context.Context, g *Group, m *Member, inv *chatmsg.GroupLinkInvitation) error {
	if !m.Host || inv == nil || inv.FromMember == nil || inv.InvitedMember == nil || inv.GroupProfile == nil {
		return fmt.Errorf("group %d: x.grp.link.inv not from the host we asked", g.ID)
	}
	if g.Status != GroupRequested {
		if g.Status == GroupJoining && string(m.MemberID) == string(inv.FromMember.MemberID) {
			return nil
		}
		return fmt.Errorf("group %d: x.grp.link.inv when %s", g.ID, g.Status)
	}
	return c.db.Update(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(`UPDATE chat_groups SET profile = ?, member_id = ?, role = ?, status = ? WHERE id = ?`,
			groupBody(inv.GroupProfile), inv.InvitedMember.MemberID, inv.InvitedMember.Role, GroupJoining, g.ID); err != nil {
			return err
		}
		host := &chatmsg.Profile{DisplayName: inv.FromMemberName}
		_, err := tx.Exec(`UPDATE chat_members SET member_id = ?, role = ?, profile = ? WHERE id = ?`,
			inv.FromMember.MemberID, inv.FromMember.Role, infoBody(host), m.ID)
		return err
	})
}
