package chat

import (
	"context"

	"github.com/smpkit/smpkit/reference/chatmsg"
)

// smallGroupReceipts is the largest group, counting its current members
// and us, in which messages get receipts (upstream
// smallGroupsRcptsMemLimit).
const smallGroupReceipts = 20

// wantsReceipt reports whether an agent message is acknowledged with a
// receipt (CH-RCPT-1): as upstream's hasDeliveryReceipt, when it holds
// x.msg.new, x.grp.inv or x.call.inv. Upstream also lets the user turn
// receipts off, for contacts and for small groups, and per chat; a new
// user has both on, and this library has no such setting yet, so they
// stay on. Everything else is acknowledged without one: a sender of an
// edit, a reaction or a goodbye (x.direct.del, x.grp.leave, ...) waits for
// no receipt.
func wantsReceipt(items []chatmsg.Item) bool {
	for _, it := range items {
		if it.Err != nil || it.Msg == nil {
			continue
		}
		switch it.Msg.Event.Name() {
		case chatmsg.EvMsgNew, chatmsg.EvGrpInv, evCallInv:
			return true
		}
	}
	return false
}

// evCallInv is upstream's call invitation, which asks for a receipt;
// this revision has no calls, so it only comes as an unknown event.
const evCallInv = "x.call.inv"

// ack acknowledges an agent message once processed, with a receipt or
// without.
func (c *Client) ack(ctx context.Context, ua *userAgent, conn string, msgID int64, receipt bool) error {
	if receipt {
		return ua.a.Ack(ctx, conn, msgID)
	}
	return ua.a.AckWithoutReceipt(ctx, conn, msgID)
}
