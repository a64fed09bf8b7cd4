package chat

import (
	"context"
	"errors"
)

// Incognito (CH-INCOG-1..6): a random profile made for one contact or one
// group membership and used there instead of the user's. The contact's is
// chat_contacts.incognito (contacts.go), the membership's
// chat_groups.incognito; ourMemberProfile picks a group's. Neither is ever
// linked to the main profile: no probes (CH-PROBE-4), no profile updates
// (CH-PROF-3), no invitations that would show one to the other's peers.

// ErrContactIncognito: a contact we are connected to incognito cannot be
// invited to a group where we have the user's profile (CH-INCOG-3).
var ErrContactIncognito = errors.New("chat: connected to the contact incognito")

// ErrGroupIncognito: in a group where our membership is incognito we
// invite no contacts, which know us by another profile (CH-INCOG-5).
var ErrGroupIncognito = errors.New("chat: our membership of the group is incognito")

// ConnectAddressIncognito is ConnectAddress with a fresh random profile in
// x.contact, kept for the contact (CH-INCOG-6).
func (c *Client) ConnectAddressIncognito(ctx context.Context, link string) (Contact, error) {
	return c.connectAddress(ctx, link, true)
}

// AcceptRequestIncognito is AcceptRequest answering with a fresh random
// profile, kept for the contact (CH-INCOG-6).
func (c *Client) AcceptRequestIncognito(ctx context.Context, id int64) (Contact, error) {
	return c.acceptRequest(ctx, id, true)
}

// SetAutoAcceptIncognito is SetAutoAccept where each request accepted
// automatically gets its own random profile (upstream's
// "/auto_accept on incognito=on"; CH-INCOG-6).
func (c *Client) SetAutoAcceptIncognito(ctx context.Context, userID int64, welcome string) error {
	return c.setAutoAccept(ctx, userID, true, true, welcome)
}

// JoinGroupLinkIncognito is JoinGroupLink with a fresh random profile for
// the membership, sent in x.contact and to every member (CH-INCOG-4).
func (c *Client) JoinGroupLinkIncognito(ctx context.Context, link string) (Group, error) {
	return c.joinGroupLink(ctx, link, true)
}
