package chatcmd

import "github.com/smpkit/smpkit/reference/chat"

// The values Session puts in Response.Fields, by key (upstream's names):
//
//	"user"               chat.User: whose answer or event it is
//	"users"              []chat.User
//	"profile", "fromProfile", "toProfile"  chatmsg.Profile
//	"contact"            chat.Contact
//	"contacts"           []chat.Contact
//	"contactRequest"     chat.Request
//	"connLinkInvitation" string: a one-time invitation link
//	"connLinkContact"    string: an address link
//	"contactLink"        chat.Address
//	"connection"         chat.Contact: the pending contact of an invitation
//	"chatItem"           AChatItem
//	"chatItems"          []AChatItem
//	"chatItemDeletions"  []ChatItemDeletion
//	"reaction"           Reaction
//	"added", "byUser"    bool
//	"groupInfo"          chat.Group
//	"member"             chat.Member
//	"members"            []chat.Member
//	"groups"             []chat.Group
//	"memberRole"         chatmsg.Role
//	"chatError"          ChatError
//	"servers"            []string
//	"incognito"          bool
//	"version"            string
//	"fromContact", "toContact", "intoContact"  chat.Contact (contactUpdated, contactsMerged)
//	"hostMember", "byMember", "deletedMember", "member_"  chat.Member
//	"fromGroup", "toGroup"  chat.Group (groupUpdated)
//	"fromRole", "toRole"  chatmsg.Role (memberRole, membersRoleUser)
//	"msgError"           agent.MsgIntegrity (msgIntegrityError)
//	"helpSection", "server", "connectionCode", "expectedCode"  string
//	"verified", "timed"  bool
//	"peer"               chat.Peer (contactSwitch, contactRatchetSync)
//	"msgContent"         chatmsg.Content; "successes", "failures" int;
//	                     "timestamp" time.Time; "broadcast" chat.Broadcast (broadcastSent)
//	"updatedUser"        chat.User (userPrivacy)
//	"mergedContactId"    int64 (contactsMerged)
//	"event"              chat.Event: an event this package does not render

// AChatItem is an item with the conversation it is in (upstream's
// AChatItem: chatInfo and chatItem). Exactly one of Item and GroupItem is
// set; Contact goes with Item, Group (and Member, the author of a received
// group message) with GroupItem.
type AChatItem struct {
	Contact   *chat.Contact
	Item      *chat.Item
	Group     *chat.Group
	Member    *chat.Member
	GroupItem *chat.GroupItem
}

// ChatItemDeletion is one deleted item: as it was and as it is now
// (upstream's deletedChatItem, toChatItem; To is nil when it is gone).
type ChatItemDeletion struct {
	Deleted AChatItem
	To      *AChatItem
}

// Reaction is a reaction added or removed (upstream's ACIReaction).
type Reaction struct {
	ChatItem AChatItem
	Emoji    string
	Sent     bool // ours
}

// ChatError is what failed (upstream's ChatError): Type is upstream's
// error tag where one fits ("commandError", "contactNotFound",
// "groupNotFound", "noActiveUser", ...; "notSupported" where this client
// lacks the feature), Message the one line the terminal prints.
type ChatError struct {
	Type    string
	Message string
}

func (e ChatError) Error() string { return e.Message }
