package chat

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// GroupStatus is where our membership of a group is.
type GroupStatus string

const (
	GroupPending GroupStatus = "invited" // an x.grp.inv waiting for JoinGroup
	GroupJoining GroupStatus = "joining" // joined the host's link, not yet connected
	GroupActive  GroupStatus = "active"
	GroupLeft    GroupStatus = "left"    // we left (CH-GRP-LEAVE-1)
	GroupRemoved GroupStatus = "removed" // we were removed (CH-GRP-DEL-2)
	// GroupRequested: we asked to join by the group's link; the host's
	// x.grp.link.inv is to come (CH-GRP-LINK-2).
	GroupRequested  GroupStatus = "requested"
	GroupWasDeleted GroupStatus = "deleted" // the owner deleted it (CH-GRP-DEL-3)
)

// Group is a group as one of our users sees it.
type Group struct {
	ID, UserID int64
	Profile    chatmsg.GroupProfile
	MemberID   []byte // ours
	Role       chatmsg.Role
	Status     GroupStatus
}

// MemberStatus is where a member's connection with us is.
type MemberStatus string

const (
	MemberInvited    MemberStatus = "invited"    // we invited it (we are its host)
	MemberAnnounced  MemberStatus = "announced"  // x.grp.mem.new: it joined, its invitation is to come
	MemberIntroduced MemberStatus = "introduced" // x.grp.mem.intro: we invite it (we are new)
	MemberConnecting MemberStatus = "connecting"
	MemberReady      MemberStatus = "connected"
	MemberHasLeft    MemberStatus = "left"
	MemberWasRemoved MemberStatus = "removed"
)

// Member is another member of a group.
type Member struct {
	ID, GroupID int64
	MemberID    []byte
	Role        chatmsg.Role
	Profile     *chatmsg.Profile
	Status      MemberStatus
	Host        bool // the member that added us
}

// GroupItem is one message of a group.
type GroupItem struct {
	ID, GroupID, UserID int64
	Author              int64 // the member row; 0 for ours
	Sent                bool
	SharedID            []byte
	Content             chatmsg.Content
	Text                string
	Edited              bool
	Deleted             bool // for everyone, by its author or a moderator
	// ModeratedBy is the member row of the moderator that deleted it
	// (CH-MSG-DEL-2), -1 when we did, 0 when it was not moderated.
	ModeratedBy int64
	Reactions   []GroupReaction
	CreatedAt   time.Time
}

// GroupReaction is one member's reaction to a group item.
type GroupReaction struct {
	Emoji  string
	Member int64 // the member row; 0 for ours
}

// GroupInvited: a contact invited the user to a group (x.grp.inv,
// CH-GRP-INV-3); JoinGroup accepts.
type GroupInvited struct {
	Group   Group
	Contact Contact
}

// MemberConnected: a member connection is up (our host's, one we hosted,
// or one made by introduction).
type MemberConnected struct {
	Group  Group
	Member Member
}

// MemberLeft: a member left the group (x.grp.leave).
type MemberLeft struct {
	Group  Group
	Member Member
}

// MemberRemoved: an admin removed a member (x.grp.mem.del); when it is us,
// Member.ID is 0 and the group's status is GroupRemoved.
type MemberRemoved struct {
	Group  Group
	Member Member
	By     Member
}

// NewGroupItem: a message arrived in a group.
type NewGroupItem struct{ Item GroupItem }

func (e GroupInvited) User() int64    { return e.Group.UserID }
func (e MemberConnected) User() int64 { return e.Group.UserID }
func (e NewGroupItem) User() int64    { return e.Item.UserID }
func (e MemberLeft) User() int64      { return e.Group.UserID }
func (e MemberRemoved) User() int64   { return e.Group.UserID }

func groupBody(p *chatmsg.GroupProfile) []byte {
	return (&chatmsg.Message{V: chatmsg.Supported, Event: &chatmsg.GrpInfo{GroupProfile: p}}).Encode()
}

func encode(e chatmsg.Event) []byte {
	return (&chatmsg.Message{V: chatmsg.Supported, Event: e}).Encode()
}

const groupCols = `id, user_id, profile, member_id, role, status`

func scanGroup(s interface{ Scan(...any) error }) (Group, error) {
	var g Group
	var pb []byte
	if err := s.Scan(&g.ID, &g.UserID, &pb, &g.MemberID, &g.Role, &g.Status); err != nil {
		return Group{}, err
	}
	m, err := chatmsg.ParseMessage(pb)
	if err != nil {
		return Group{}, fmt.Errorf("chat: group %d: %w", g.ID, err)
	}
	if gi, ok := m.Event.(*chatmsg.GrpInfo); ok && gi.GroupProfile != nil {
		g.Profile = *gi.GroupProfile
	}
	return g, nil
}

func loadGroup(tx *db.Tx, id int64) (Group, error) {
	g, err := scanGroup(tx.QueryRow(`SELECT `+groupCols+` FROM chat_groups WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Group{}, fmt.Errorf("chat: group %d: %w", id, ErrNotFound)
	}
	return g, err
}

const memberCols = `id, group_id, member_id, role, profile, status, host`

func scanMember(s interface{ Scan(...any) error }) (Member, error) {
	var m Member
	var pb []byte
	if err := s.Scan(&m.ID, &m.GroupID, &m.MemberID, &m.Role, &pb, &m.Status, &m.Host); err != nil {
		return Member{}, err
	}
	if pb != nil {
		p, err := parseInfo(pb)
		if err != nil {
			return Member{}, err
		}
		m.Profile = p
	}
	return m, nil
}

func loadMember(tx *db.Tx, where string, args ...any) (Member, error) {
	m, err := scanMember(tx.QueryRow(`SELECT `+memberCols+` FROM chat_members WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, fmt.Errorf("chat: member: %w", ErrNotFound)
	}
	return m, err
}

// Groups lists a user's groups.
func (c *Client) Groups(ctx context.Context, userID int64) ([]Group, error) {
	var gs []Group
	err := c.db.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(`SELECT `+groupCols+` FROM chat_groups WHERE user_id = ? ORDER BY id`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			g, err := scanGroup(rows)
			if err != nil {
				return err
			}
			gs = append(gs, g)
		}
		return rows.Err()
	})
	return gs, err
}

// Members lists the other members of a group.
func (c *Client) Members(ctx context.Context, groupID int64) ([]Member, error) {
	var ms []Member
	err := c.db.View(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(`SELECT `+memberCols+` FROM chat_members WHERE group_id = ? ORDER BY id`, groupID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanMember(rows)
			if err != nil {
				return err
			}
			ms = append(ms, m)
		}
		return rows.Err()
	})
	return ms, err
}

// CreateGroup makes a group of the active user, who is its owner
// (CH-ROLE-2).
func (c *Client) CreateGroup(ctx context.Context, p chatmsg.GroupProfile) (Group, error) {
	if err := chatmsg.ValidDisplayName(p.DisplayName); err != nil {
		return Group{}, fmt.Errorf("chat: group name: %w", err)
	}
	uid, err := c.activeID(ctx)
	if err != nil {
		return Group{}, err
	}
	mid, err := chatmsg.NewID(c.cfg.Rand)
	if err != nil {
		return Group{}, err
	}
	var g Group
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(`INSERT INTO chat_groups (user_id, profile, member_id, role, status, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			uid, groupBody(&p), mid, chatmsg.RoleOwner, GroupActive, time.Now().Unix())
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		g, err = loadGroup(tx, id)
		return err
	})
	return g, err
}

// InviteToGroup invites a contact of the group's user (x.grp.inv,
// CH-GRP-INV-1): a new connection for the member, whose link travels over
// the contact's connection. Only admins and owners invite (CH-ROLE-2).
func (c *Client) InviteToGroup(ctx context.Context, groupID, contactID int64, role chatmsg.Role) (Member, error) {
	var g Group
	if err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		g, err = loadGroup(tx, groupID)
		return err
	}); err != nil {
		return Member{}, err
	}
	if !g.Role.AtLeast(chatmsg.RoleAdmin) || role.Rank() > g.Role.Rank() || role.Rank() < chatmsg.RoleObserver.Rank() {
		return Member{}, fmt.Errorf("chat: a %s cannot add a %s (CH-ROLE-2)", g.Role, role)
	}
	ct, conn, ua, err := c.connectedContact(ctx, contactID)
	if err != nil {
		return Member{}, err
	}
	if ct.Incognito != nil {
		return Member{}, fmt.Errorf("chat: contact %d is connected incognito (CH-INCOG-3)", contactID)
	}
	if ct.UserID != g.UserID {
		return Member{}, fmt.Errorf("chat: contact %d is not of the group's user", contactID)
	}
	mid, err := chatmsg.NewID(c.cfg.Rand)
	if err != nil {
		return Member{}, err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	mconn, link, err := ua.a.CreateInvitation(ctx)
	if err != nil {
		return Member{}, fmt.Errorf("chat: group invitation: %w", err)
	}
	inv := &chatmsg.GrpInv{Invitation: &chatmsg.GroupInvitation{
		FromMember:    &chatmsg.MemberIDRole{MemberID: g.MemberID, Role: g.Role},
		InvitedMember: &chatmsg.MemberIDRole{MemberID: mid, Role: role},
		ConnRequest:   link,
		GroupProfile:  &g.Profile,
	}}
	var m Member
	err = c.commit(ctx, ua, func(tx *db.Tx) error {
		var pb []byte
		if ct.Profile != nil {
			pb = infoBody(ct.Profile.Redacted())
		}
		res, err := tx.Exec(`INSERT INTO chat_members (group_id, member_id, role, profile, conn_id, status, contact_id) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			groupID, mid, role, pb, mconn, MemberInvited, contactID)
		if err != nil {
			return err
		}
		id, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if m, err = loadMember(tx, `id = ?`, id); err != nil {
			return err
		}
		return addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: encode(inv)})
	})
	if err != nil {
		ua.a.Delete(ctx, mconn)
		return Member{}, err
	}
	return m, nil
}

// onGroupInvitation records an x.grp.inv received over a contact
// connection as a pending group (CH-GRP-INV-3).
func onGroupInvitation(tx *db.Tx, ct *Contact, raw []byte, inv *chatmsg.GroupInvitation) (Event, error) {
	if inv == nil || inv.FromMember == nil || inv.InvitedMember == nil || inv.GroupProfile == nil {
		return nil, nil
	}
	res, err := tx.Exec(`INSERT INTO chat_groups (user_id, profile, member_id, role, status, invitation, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ct.UserID, groupBody(inv.GroupProfile), inv.InvitedMember.MemberID, inv.InvitedMember.Role, GroupPending, raw, time.Now().Unix())
	if err != nil {
		return nil, err
	}
	gid, err := res.LastInsertId()
	if err != nil {
		return nil, err
	}
	var pb []byte
	if ct.Profile != nil {
		pb = infoBody(ct.Profile.Redacted())
	}
	if _, err := tx.Exec(`INSERT INTO chat_members (group_id, member_id, role, profile, status, host, contact_id) VALUES (?, ?, ?, ?, ?, 1, ?)`,
		gid, inv.FromMember.MemberID, inv.FromMember.Role, pb, MemberInvited, ct.ID); err != nil {
		return nil, err
	}
	g, err := loadGroup(tx, gid)
	return GroupInvited{Group: g, Contact: *ct}, err
}

// JoinGroup accepts a group invitation: the user joins the host's link
// with x.grp.acpt and its member id (CH-GRP-INV-2).
func (c *Client) JoinGroup(ctx context.Context, groupID int64) error {
	var g Group
	var raw []byte
	var host Member
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		if g, err = loadGroup(tx, groupID); err != nil {
			return err
		}
		if err := tx.QueryRow(`SELECT invitation FROM chat_groups WHERE id = ?`, groupID).Scan(&raw); err != nil {
			return err
		}
		host, err = loadMember(tx, `group_id = ? AND host = 1`, groupID)
		return err
	})
	if err != nil {
		return err
	}
	if g.Status != GroupPending || raw == nil {
		return fmt.Errorf("chat: group %d is %s, not invited", groupID, g.Status)
	}
	m, err := chatmsg.ParseMessage(raw)
	if err != nil {
		return err
	}
	inv := m.Event.(*chatmsg.GrpInv).Invitation
	ua, err := c.user(g.UserID)
	if err != nil {
		return err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	conn, err := ua.a.Join(ctx, inv.ConnRequest, encode(&chatmsg.GrpAcpt{MemberID: g.MemberID}))
	if err != nil {
		return fmt.Errorf("chat: join group: %w", err)
	}
	return c.db.Update(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(`UPDATE chat_members SET conn_id = ?, status = ? WHERE id = ?`, conn, MemberConnecting, host.ID); err != nil {
			return err
		}
		_, err := tx.Exec(`UPDATE chat_groups SET status = ?, invitation = NULL WHERE id = ?`, GroupJoining, groupID)
		return err
	})
}

// SendGroupText sends a text message to every connected member.
func (c *Client) SendGroupText(ctx context.Context, groupID int64, text string) (GroupItem, error) {
	var g Group
	var conns []string
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		if g, err = loadGroup(tx, groupID); err != nil {
			return err
		}
		conns, err = column[string](tx, `SELECT conn_id FROM chat_members WHERE group_id = ? AND status = ?`, groupID, MemberReady)
		return err
	})
	if err != nil {
		return GroupItem{}, err
	}
	if g.Status != GroupActive || !g.Role.AtLeast(chatmsg.RoleMember) {
		return GroupItem{}, fmt.Errorf("chat: cannot send to group %d as %s (%s)", groupID, g.Role, g.Status)
	}
	ua, err := c.user(g.UserID)
	if err != nil {
		return GroupItem{}, err
	}
	shared, err := chatmsg.NewID(c.cfg.Rand)
	if err != nil {
		return GroupItem{}, err
	}
	content := chatmsg.Content{Type: chatmsg.ContentText, Text: text, HasText: true}
	body := newBody(shared, chatmsg.Container{Content: &content})
	var id int64
	ua.mu.Lock()
	defer ua.mu.Unlock()
	err = c.commit(ctx, ua, func(tx *db.Tx) error {
		var err error
		if id, err = insertGroupItem(tx, groupID, 0, shared, body, content.DisplayText()); err != nil {
			return err
		}
		for _, conn := range conns {
			if err := addTask(tx, ua.id, task{Kind: "send", Conn: conn, Body: body}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return GroupItem{}, err
	}
	var it GroupItem
	err = c.db.View(context.WithoutCancel(ctx), func(tx *db.Tx) error {
		var err error
		it, err = loadGroupItem(tx, id)
		return err
	})
	return it, err
}

func insertGroupItem(tx *db.Tx, groupID, author int64, shared, body []byte, text string) (int64, error) {
	var a any
	if author != 0 {
		a = author
	}
	res, err := tx.Exec(`INSERT INTO chat_group_items (group_id, author, sent, shared_id, content, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT DO NOTHING`, groupID, a, author == 0, shared, body, text, time.Now().UnixMilli())
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return 0, nil // this author's msgId arrived before (CH-FWD-3)
	}
	return res.LastInsertId()
}

func loadGroupItem(tx *db.Tx, id int64) (GroupItem, error) {
	var it GroupItem
	var author sql.NullInt64
	var cb []byte
	var created int64
	var mod sql.NullInt64
	err := tx.QueryRow(`SELECT i.id, i.group_id, g.user_id, i.author, i.sent, i.shared_id, i.content, i.text, i.edited, i.deleted, i.moderated_by, i.created_at
		FROM chat_group_items i JOIN chat_groups g ON g.id = i.group_id WHERE i.id = ?`, id).
		Scan(&it.ID, &it.GroupID, &it.UserID, &author, &it.Sent, &it.SharedID, &cb, &it.Text, &it.Edited, &it.Deleted, &mod, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return GroupItem{}, fmt.Errorf("chat: group item %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return GroupItem{}, err
	}
	it.Author, it.CreatedAt = author.Int64, time.UnixMilli(created)
	if mod.Valid {
		it.ModeratedBy = mod.Int64
		if it.ModeratedBy == 0 {
			it.ModeratedBy = -1
		}
	}
	if m, err := chatmsg.ParseMessage(cb); err == nil {
		if n, ok := m.Event.(*chatmsg.MsgNew); ok && n.Content != nil {
			it.Content = *n.Content
		}
	}
	rows, err := tx.Query(`SELECT reaction, member FROM chat_group_reactions WHERE item_id = ? ORDER BY member, reaction`, id)
	if err != nil {
		return GroupItem{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var r GroupReaction
		if err := rows.Scan(&r.Emoji, &r.Member); err != nil {
			return GroupItem{}, err
		}
		it.Reactions = append(it.Reactions, r)
	}
	return it, rows.Err()
}

// GroupItems returns a page of a group's history, oldest first (as Items).
func (c *Client) GroupItems(ctx context.Context, groupID, before int64, limit int) ([]GroupItem, error) {
	var its []GroupItem
	err := c.db.View(ctx, func(tx *db.Tx) error {
		if before == 0 {
			before = 1<<63 - 1
		}
		ids, err := column[int64](tx, `SELECT id FROM chat_group_items WHERE group_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, groupID, before, limit)
		if err != nil {
			return err
		}
		for i := len(ids) - 1; i >= 0; i-- {
			it, err := loadGroupItem(tx, ids[i])
			if err != nil {
				return err
			}
			its = append(its, it)
		}
		return nil
	})
	return its, err
}
