package chatcmd

// Hidden and muted users over reference/chat, as
// upstream's terminal shows them (viewUserPrivacy, CEUserUnknown).

import (
	"context"
	"errors"

	"github.com/smpkit/smpkit/reference/chat"
)

func userUnknown(err error) error {
	if errors.Is(err, chat.ErrUserUnknown) {
		return cmdErr("userUnknown", "user does not exist or incorrect password")
	}
	return err
}

func privacyLines(current chat.User, u chat.User) []string {
	head := "user " + viewName(u.Profile.DisplayName) + ":"
	if current.ID == u.ID {
		head = "current " + head
	}
	msgs := "messages are shown"
	if u.Muted {
		msgs = "messages are hidden (use /tail to view)"
	}
	prof := "profile is visible"
	if u.Hidden {
		prof = "profile is hidden"
	}
	return []string{head, msgs, prof}
}

func (s *Engine) privacy(ctx context.Context, before chat.User) (Response, error) {
	u, err := s.c.ActiveUser(ctx)
	if err != nil {
		return Response{}, err
	}
	return resp("userPrivacy", privacyLines(before, u), "user", before, "updatedUser", u), nil
}

func (s *Engine) hideUser(ctx context.Context, u chat.User, pwd string) (Response, error) {
	if pwd == "" {
		return Response{}, cmdErr("emptyUserPassword", "user password is required")
	}
	if err := s.c.HideUser(ctx, u.ID, pwd); err != nil {
		return Response{}, err
	}
	return s.privacy(ctx, u)
}

func (s *Engine) unhideUser(ctx context.Context, u chat.User, pwd string) (Response, error) {
	if err := s.c.UnhideUser(ctx, u.ID, pwd); err != nil {
		return Response{}, userUnknown(err)
	}
	return s.privacy(ctx, u)
}

func (s *Engine) muteUser(ctx context.Context, u chat.User, mute bool) (Response, error) {
	var err error
	if mute {
		err = s.c.MuteUser(ctx, u.ID)
	} else {
		err = s.c.UnmuteUser(ctx, u.ID)
	}
	if err != nil {
		return Response{}, err
	}
	return s.privacy(ctx, u)
}

// setUserPassword is /user NAME PASSWORD: a hidden user becomes active.
func (s *Engine) setUserPassword(ctx context.Context, cmd Command) (Response, error) {
	u, err := s.c.FindUser(ctx, cmd.Name, cmd.Text)
	if err != nil {
		return Response{}, userUnknown(err)
	}
	if u, err = s.c.ActivateUser(ctx, u.ID, cmd.Text); err != nil {
		return Response{}, userUnknown(err)
	}
	return resp("activeUser", viewUserProfile(u.Profile), "user", u), nil
}

func (s *Engine) deleteUserPassword(ctx context.Context, cmd Command) (Response, error) {
	u, err := s.c.FindUser(ctx, cmd.Name, cmd.Text)
	if err != nil {
		return Response{}, userUnknown(err)
	}
	if u.Active {
		return Response{}, cmdErr("cantDeleteActiveUser", "cannot delete active user")
	}
	if err := s.c.DeleteUserWithPassword(ctx, u.ID, cmd.Text); err != nil {
		return Response{}, userUnknown(err)
	}
	return resp("cmdOk", []string{"ok"}), nil
}

// userMarks are what /users says of a user beside "active".
func userMarks(u chat.User) []string {
	var m []string
	if u.Hidden {
		m = append(m, "hidden")
	}
	if u.Muted {
		m = append(m, "muted")
	}
	if u.Moved {
		m = append(m, "moved to another device")
	}
	return m
}

// shown is whether an event of a user is shown now: not those of a
// muted or hidden user while another is active (CH-USER-3).
func (s *Engine) shown(ctx context.Context, e chat.Event) bool { return s.c.Shown(ctx, e) }
