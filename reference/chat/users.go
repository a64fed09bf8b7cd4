package chat

import (
	"context"
	"crypto/sha512"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/smpkit/smpkit/reference/chatarchive"
	"github.com/smpkit/smpkit/reference/chatmsg"
	"github.com/smpkit/smpkit/reference/db"
)

// Errors of the user calls, for callers that branch on them.
var (
	// ErrWrongPassphrase: Open was given another passphrase than the
	// databases were made with; nothing was read or changed.
	ErrWrongPassphrase = db.ErrWrongPassphrase
	// ErrUserUnknown: no such user, or a hidden user without its password
	// (one error for both, so that a hidden user's existence does not show,
	// CH-USER-2). It is also an ErrNotFound.
	ErrUserUnknown error = unknownUser("chat: user does not exist or incorrect password")
	// ErrUserMoved: the user was exported to another device and never runs
	// here again (CH-DEV-2).
	ErrUserMoved = errors.New("chat: user moved to another device")
	// ErrDeleteActiveUser: the active user is deleted only when no other
	// visible user is left (CH-USER-4).
	ErrDeleteActiveUser = errors.New("chat: cannot delete the active user while other visible users exist")
	// ErrUserExists: another visible user has the display name.
	ErrUserExists = errors.New("chat: a user with this display name exists")
	// ErrHideLastUser: hiding must leave a visible user (CH-USER-2).
	ErrHideLastUser = errors.New("chat: cannot hide the only visible user")
	// ErrEmptyPassword: a hidden user's password must not be empty.
	ErrEmptyPassword = errors.New("chat: user password is required")
	// ErrUserHidden and ErrUserNotHidden: HideUser of a hidden user,
	// UnhideUser of a visible one.
	ErrUserHidden    = errors.New("chat: user is already hidden")
	ErrUserNotHidden = errors.New("chat: user is not hidden")
	// ErrArchive: ImportProfile was given bytes that are not an archive
	// under the link's key, or are damaged or cut (CH-DEV-1).
	ErrArchive = chatarchive.ErrArchive
	// ErrHiddenMuted: a hidden user is always muted (CH-USER-3).
	ErrHiddenMuted = errors.New("chat: a hidden user is always muted")
)

// unknownUser is ErrUserUnknown's type: an error that is also ErrNotFound.
type unknownUser string

func (e unknownUser) Error() string        { return string(e) }
func (e unknownUser) Is(target error) bool { return target == ErrNotFound }

// User is one profile of the client.
type User struct {
	ID      int64
	Profile chatmsg.Profile
	Active  bool
	// Hidden: behind a password (HideUser); listed only while active.
	Hidden bool
	// Muted: the application should not show the user's events while
	// another user is active (Shown). Hidden users are always muted.
	Muted bool
	// Moved: exported to another device (ExportProfile); its agent never
	// runs here again and only DeleteUser works on it.
	Moved bool
}

// userRow is a user with its password hash, as stored.
type userRow struct {
	User
	hash, salt []byte
}

const userCols = `id, profile, active, view_pwd_hash, view_pwd_salt, show_ntfs, moved_at IS NOT NULL`

func scanUser(s interface{ Scan(...any) error }) (userRow, error) {
	var u userRow
	var b []byte
	var show bool
	if err := s.Scan(&u.ID, &b, &u.Active, &u.hash, &u.salt, &show, &u.Moved); err != nil {
		return userRow{}, err
	}
	p, err := parseInfo(b)
	if err != nil {
		return userRow{}, fmt.Errorf("chat: user %d: %w", u.ID, err)
	}
	u.Profile, u.Hidden, u.Muted = *p, u.hash != nil, !show
	return u, nil
}

func loadUsers(tx *db.Tx, where string, args ...any) ([]userRow, error) {
	rows, err := tx.Query(`SELECT `+userCols+` FROM chat_users `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var us []userRow
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		us = append(us, u)
	}
	return us, rows.Err()
}

func loadUser(tx *db.Tx, id int64) (userRow, error) {
	us, err := loadUsers(tx, `WHERE id = ?`, id)
	if err != nil {
		return userRow{}, err
	}
	if len(us) == 0 {
		return userRow{}, fmt.Errorf("chat: user %d: %w", id, ErrUserUnknown)
	}
	return us[0], nil
}

// allUsers lists every user, hidden ones included.
func (c *Client) allUsers(ctx context.Context) ([]User, error) {
	var us []User
	err := c.db.View(ctx, func(tx *db.Tx) error {
		rows, err := loadUsers(tx, ``)
		for _, u := range rows {
			us = append(us, u.User)
		}
		return err
	})
	return us, err
}

// passwordHash is upstream's viewPwdHash: SHA-512 of the password's UTF-8
// bytes followed by the salt (CH-USER-2).
func passwordHash(password string, salt []byte) []byte {
	h := sha512.Sum512(append([]byte(password), salt...))
	return h[:]
}

// unlocked reports whether the caller may act on u: a visible user
// always; a hidden one while active (no password given) or with its
// password.
func (u userRow) unlocked(password string) bool {
	if u.hash == nil {
		return true
	}
	if password == "" {
		return u.Active
	}
	return subtle.ConstantTimeCompare(passwordHash(password, u.salt), u.hash) == 1
}

// CreateUser adds a user with the profile; its display name must follow
// CH-PROF-2 and differ from the other users'. The first user is active.
func (c *Client) CreateUser(ctx context.Context, p chatmsg.Profile) (User, error) {
	if err := chatmsg.ValidDisplayName(p.DisplayName); err != nil {
		return User{}, fmt.Errorf("chat: display name: %w", err)
	}
	var u User
	err := c.db.Update(ctx, func(tx *db.Tx) error {
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM chat_users WHERE active = 1`).Scan(&n); err != nil {
			return err
		}
		if err := nameFree(tx, p.DisplayName, 0); err != nil {
			return err
		}
		res, err := tx.Exec(`INSERT INTO chat_users (name, profile, active, created_at) VALUES (?, ?, ?, ?)`,
			p.DisplayName, infoBody(&p), n == 0, time.Now().Unix())
		if err != nil {
			return fmt.Errorf("chat: user %q: %w", p.DisplayName, err)
		}
		id, err := res.LastInsertId()
		u = User{ID: id, Profile: p, Active: n == 0}
		return err
	})
	if err != nil {
		return User{}, err
	}
	if err := c.startUser(ctx, u.ID); err != nil {
		return User{}, err
	}
	return u, nil
}

// nameFree checks that no other user has the display name. A hidden
// user's name is refused as an invalid name, not as a user that exists,
// as upstream does, so that the refusal does not confirm the hidden user.
func nameFree(tx *db.Tx, name string, self int64) error {
	us, err := loadUsers(tx, `WHERE name = ? AND id != ?`, name, self)
	if err != nil || len(us) == 0 {
		return err
	}
	if us[0].Hidden && !us[0].Active {
		return fmt.Errorf("chat: invalid display name %q", name)
	}
	return fmt.Errorf("chat: user %q: %w", name, ErrUserExists)
}

// Users lists the users in order of creation: the visible ones and the
// active one, never another hidden user (CH-USER-2). Moved users are
// listed, marked Moved.
func (c *Client) Users(ctx context.Context) ([]User, error) {
	var us []User
	err := c.db.View(ctx, func(tx *db.Tx) error {
		rows, err := loadUsers(tx, `WHERE view_pwd_hash IS NULL OR active = 1`)
		for _, u := range rows {
			us = append(us, u.User)
		}
		return err
	})
	return us, err
}

// FindUser returns the user with the display name: a visible one, or a
// hidden one given its password (upstream's /user NAME PASSWORD). Any
// other case is ErrUserUnknown.
func (c *Client) FindUser(ctx context.Context, name, password string) (User, error) {
	var u userRow
	err := c.db.View(ctx, func(tx *db.Tx) error {
		us, err := loadUsers(tx, `WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if len(us) == 0 || !us[0].unlocked(password) {
			return fmt.Errorf("chat: user %q: %w", name, ErrUserUnknown)
		}
		u = us[0]
		return nil
	})
	return u.User, err
}

// ActiveUser returns the active user, which CreateInvitation, Connect,
// CreateAddress and the other calls without a user id act for.
func (c *Client) ActiveUser(ctx context.Context) (User, error) {
	var u User
	err := c.db.View(ctx, func(tx *db.Tx) error {
		us, err := loadUsers(tx, `WHERE active = 1`)
		if err != nil {
			return err
		}
		if len(us) == 0 {
			return fmt.Errorf("chat: no active user: %w", ErrNotFound)
		}
		u = us[0].User
		return nil
	})
	return u, err
}

// SetActiveUser switches the active user to a visible one (or keeps a
// hidden one active). Events keep coming for all users.
func (c *Client) SetActiveUser(ctx context.Context, id int64) error {
	_, err := c.ActivateUser(ctx, id, "")
	return err
}

// ActivateUser switches the active user; a hidden user needs its password
// (CH-USER-2). A wrong password, like an unknown id, is ErrUserUnknown.
func (c *Client) ActivateUser(ctx context.Context, id int64, password string) (User, error) {
	var u userRow
	err := c.db.Update(ctx, func(tx *db.Tx) error {
		var err error
		if u, err = loadUser(tx, id); err != nil {
			return err
		}
		if !u.unlocked(password) {
			return fmt.Errorf("chat: user %d: %w", id, ErrUserUnknown)
		}
		if u.Moved {
			return fmt.Errorf("chat: user %d: %w", id, ErrUserMoved)
		}
		_, err = tx.Exec(`UPDATE chat_users SET active = (id = ?)`, id)
		u.Active = true
		return err
	})
	return u.User, err
}

// HideUser hides a user behind a password (CH-USER-2): it is no longer
// listed unless active, and becoming active needs the password. Its agent
// keeps running, so its messages keep arriving; it is muted (CH-USER-3).
// At least one other visible user must remain.
func (c *Client) HideUser(ctx context.Context, id int64, password string) error {
	if password == "" {
		return ErrEmptyPassword
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(c.cfg.Rand, salt); err != nil {
		return err
	}
	return c.db.Update(ctx, func(tx *db.Tx) error {
		u, err := loadUser(tx, id)
		if err != nil {
			return err
		}
		if u.Hidden {
			return fmt.Errorf("chat: user %d: %w", id, ErrUserHidden)
		}
		if u.Moved {
			return fmt.Errorf("chat: user %d: %w", id, ErrUserMoved)
		}
		var visible int
		if err := tx.QueryRow(`SELECT count(*) FROM chat_users WHERE view_pwd_hash IS NULL AND moved_at IS NULL AND id != ?`, id).Scan(&visible); err != nil {
			return err
		}
		if visible == 0 {
			return fmt.Errorf("chat: user %d: %w", id, ErrHideLastUser)
		}
		_, err = tx.Exec(`UPDATE chat_users SET view_pwd_hash = ?, view_pwd_salt = ?, show_ntfs = 0 WHERE id = ?`, passwordHash(password, salt), salt, id)
		return err
	})
}

// UnhideUser makes a hidden user visible (and unmuted) again, given its
// password.
func (c *Client) UnhideUser(ctx context.Context, id int64, password string) error {
	if password == "" {
		return ErrEmptyPassword
	}
	return c.db.Update(ctx, func(tx *db.Tx) error {
		u, err := loadUser(tx, id)
		if err != nil {
			return err
		}
		if !u.Hidden {
			return fmt.Errorf("chat: user %d: %w", id, ErrUserNotHidden)
		}
		if !u.unlocked(password) {
			return fmt.Errorf("chat: user %d: %w", id, ErrUserUnknown)
		}
		_, err = tx.Exec(`UPDATE chat_users SET view_pwd_hash = NULL, view_pwd_salt = NULL, show_ntfs = 1 WHERE id = ?`, id)
		return err
	})
}

// MuteUser and UnmuteUser set whether the user's events are shown while
// another user is active (Shown); a hidden user cannot be unmuted.
func (c *Client) MuteUser(ctx context.Context, id int64) error { return c.setMuted(ctx, id, true) }

// UnmuteUser: see MuteUser.
func (c *Client) UnmuteUser(ctx context.Context, id int64) error { return c.setMuted(ctx, id, false) }

func (c *Client) setMuted(ctx context.Context, id int64, muted bool) error {
	return c.db.Update(ctx, func(tx *db.Tx) error {
		u, err := loadUser(tx, id)
		if err != nil {
			return err
		}
		if u.Hidden {
			return fmt.Errorf("chat: user %d: %w", id, ErrHiddenMuted)
		}
		_, err = tx.Exec(`UPDATE chat_users SET show_ntfs = ? WHERE id = ?`, !muted, id)
		return err
	})
}

// Shown reports whether an application should show the event now: its
// user is active, or neither muted nor hidden (CH-USER-3). Every event is
// delivered and its changes are stored either way.
func (c *Client) Shown(ctx context.Context, e Event) bool {
	var active, show bool
	err := c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT active, show_ntfs FROM chat_users WHERE id = ?`, e.User()).Scan(&active, &show)
	})
	return err == nil && (active || show)
}

// UpdateProfile changes a user's profile and sends x.info with it to each
// of the user's connected contacts, except those connected incognito, and
// redacted to each member of the user's active groups (CH-PROF-3,
// CH-PROF-4).
func (c *Client) UpdateProfile(ctx context.Context, userID int64, p chatmsg.Profile) error {
	if err := chatmsg.ValidDisplayName(p.DisplayName); err != nil {
		return fmt.Errorf("chat: display name: %w", err)
	}
	ua, err := c.user(userID)
	if err != nil {
		return err
	}
	ua.mu.Lock()
	defer ua.mu.Unlock()
	return c.commit(ctx, ua, func(tx *db.Tx) error {
		if err := nameFree(tx, p.DisplayName, userID); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE chat_users SET name = ?, profile = ? WHERE id = ?`, p.DisplayName, infoBody(&p), userID); err != nil {
			return fmt.Errorf("chat: user %q: %w", p.DisplayName, err)
		}
		conns, err := column[string](tx, `SELECT conn_id FROM chat_contacts WHERE user_id = ? AND status = 'connected' AND incognito IS NULL`, userID)
		if err != nil {
			return err
		}
		for _, conn := range conns {
			if err := addTask(tx, userID, task{Kind: "send", Conn: conn, Body: infoBody(&p)}); err != nil {
				return err
			}
		}
		return addGroupProfileTasks(tx, userID, &p) // and to groups (grpmanage.go)
	})
}

// DeleteUser deletes a visible user, or the active one, with its contacts,
// groups, address and history (CH-USER-4). Its connections are deleted on
// the relays first, so its contacts and members learn of it when their
// next message is refused (AUTH), as upstream does; then its agent's
// database is removed. A moved user's connections are left alone: they
// live on the other device.
func (c *Client) DeleteUser(ctx context.Context, id int64) error {
	return c.DeleteUserWithPassword(ctx, id, "")
}

// DeleteUserWithPassword is DeleteUser for a hidden user that is not
// active, given its password.
func (c *Client) DeleteUserWithPassword(ctx context.Context, id int64, password string) error {
	var u userRow
	var conns []string
	err := c.db.View(ctx, func(tx *db.Tx) error {
		var err error
		if u, err = loadUser(tx, id); err != nil {
			return err
		}
		if !u.unlocked(password) {
			return fmt.Errorf("chat: user %d: %w", id, ErrUserUnknown)
		}
		if u.Active {
			var others int
			if err := tx.QueryRow(`SELECT count(*) FROM chat_users WHERE view_pwd_hash IS NULL AND moved_at IS NULL AND id != ?`, id).Scan(&others); err != nil {
				return err
			}
			if others > 0 {
				return fmt.Errorf("chat: user %d: %w", id, ErrDeleteActiveUser)
			}
		}
		conns, err = column[string](tx, `SELECT conn_id FROM chat_contacts WHERE user_id = ?
			UNION ALL SELECT conn_id FROM chat_addresses WHERE user_id = ?
			UNION ALL SELECT m.conn_id FROM chat_members m JOIN chat_groups g ON g.id = m.group_id WHERE g.user_id = ? AND m.conn_id IS NOT NULL`, id, id, id)
		return err
	})
	if err != nil {
		return err
	}
	if !u.Moved {
		ua, err := c.user(id)
		if err != nil {
			return err
		}
		for _, conn := range conns {
			if err := ua.a.Delete(ctx, conn); err != nil {
				c.cfg.Log.Debug("chat: delete user: connection", "err", err)
			}
		}
		c.mu.Lock()
		delete(c.users, id)
		c.mu.Unlock()
		if err := ua.close(); err != nil {
			return err
		}
	}
	err = c.db.Update(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(`DELETE FROM chat_users WHERE id = ?`, id)
		return err
	})
	if err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.moved, id)
	c.mu.Unlock()
	return os.RemoveAll(c.agentDir(id))
}

func (c *Client) activeID(ctx context.Context) (int64, error) {
	var id int64
	err := c.db.View(ctx, func(tx *db.Tx) error {
		return tx.QueryRow(`SELECT id FROM chat_users WHERE active = 1`).Scan(&id)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("chat: no active user: %w", ErrNotFound)
	}
	return id, err
}

// activeAgent is the active user's id and agent.
func (c *Client) activeAgent(ctx context.Context) (int64, *userAgent, error) {
	uid, err := c.activeID(ctx)
	if err != nil {
		return 0, nil, err
	}
	ua, err := c.user(uid)
	return uid, ua, err
}

// newContactProfile is the profile user uid shows a new contact: its own,
// or with incognito a fresh random one, which inc also returns so that it
// is recorded for the contact (CH-INCOG-1).
func (c *Client) newContactProfile(ctx context.Context, uid int64, incognito bool) (p, inc *chatmsg.Profile, err error) {
	if incognito {
		inc, err = randomProfile(c.cfg.Rand)
		return inc, inc, err
	}
	p, err = c.userProfile(ctx, uid)
	return p, nil, err
}
