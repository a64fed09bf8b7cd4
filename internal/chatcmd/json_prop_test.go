package chatcmd

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/smpkit/smpkit/reference/chat"
	"github.com/smpkit/smpkit/reference/chatmsg"
)

// Any contact and item give JSON that decodes to the same ids, names,
// texts and direction, with upstream's enum values only, and text as it
// is (no HTML escaping: aeson writes "<", ">" and "&" unescaped).
func TestAPIJSONProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		name := rapid.StringMatching(`[a-z&<> ']{0,12}`).Draw(t, "name")
		txt := rapid.String().Draw(t, "text")
		statuses := []chat.ContactStatus{chat.StatusInvited, chat.StatusJoined, chat.StatusRequested, chat.StatusAccepted, chat.StatusConnected, chat.StatusDeleting, chat.StatusDeletedByPeer}
		c := chat.Contact{
			ID:        rapid.Int64Range(1, 1<<40).Draw(t, "contactId"),
			LocalName: name,
			Profile:   &chatmsg.Profile{DisplayName: name},
			Status:    rapid.SampledFrom(statuses).Draw(t, "status"),
		}
		it := chat.Item{
			ID:        rapid.Int64Range(1, 1<<40).Draw(t, "itemId"),
			ContactID: c.ID,
			Sent:      rapid.Bool().Draw(t, "sent"),
			SharedID:  rapid.SliceOfN(rapid.Byte(), 0, 16).Draw(t, "sharedId"),
			Content:   chatmsg.Content{Type: chatmsg.ContentText, Text: txt, HasText: true},
			Text:      txt,
			Status:    rapid.SampledFrom([]chat.ItemStatus{chat.ItemSending, chat.ItemSent, chat.ItemDelivered, chat.ItemReceived}).Draw(t, "itemStatus"),
			Edited:    rapid.Bool().Draw(t, "edited"),
			Deleted:   rapid.Bool().Draw(t, "deleted"),
			CreatedAt: time.UnixMilli(rapid.Int64Range(0, 1<<42).Draw(t, "ms")),
		}
		b, err := EncodeAPI(Response{Type: "newChatItems", Fields: map[string]any{"chatItems": []AChatItem{{Contact: &c, Item: &it}}}})
		if err != nil {
			t.Fatal(err)
		}
		for _, esc := range []string{`\u003c`, `\u003e`, `\u0026`} {
			if bytes.Contains(b, []byte(esc)) {
				t.Fatalf("HTML-escaped: %s", b)
			}
		}
		var v struct {
			ChatItems []struct {
				ChatInfo struct {
					Type    string
					Contact struct {
						ContactID        int64
						LocalDisplayName string
						ContactStatus    string
						ActiveConn       struct{ ConnStatus string }
					}
				}
				ChatItem struct {
					ChatDir struct{ Type string }
					Meta    struct {
						ItemID          int64
						ItemText        string
						ItemTs          time.Time
						ItemSharedMsgID string
						ItemEdited      bool
						ItemDeleted     *struct{ Type string }
						ItemStatus      struct{ Type string }
					}
					Content struct {
						Type       string
						MsgContent struct{ Type, Text string }
					}
				}
			}
		}
		if err := json.Unmarshal(b, &v); err != nil || len(v.ChatItems) != 1 {
			t.Fatalf("%v: %s", err, b)
		}
		ci := v.ChatItems[0]
		ct, m := ci.ChatInfo.Contact, ci.ChatItem.Meta
		if ci.ChatInfo.Type != "direct" || ct.ContactID != c.ID || ct.LocalDisplayName != name || m.ItemID != it.ID || m.ItemText != txt ||
			!m.ItemTs.Equal(it.CreatedAt) || m.ItemEdited != it.Edited || (m.ItemDeleted != nil) != it.Deleted || ci.ChatItem.Content.MsgContent.Text != txt {
			t.Fatalf("round trip: %s", b)
		}
		if !oneOf(ct.ContactStatus, "active", "deleted", "deletedByUser") || !oneOf(ct.ActiveConn.ConnStatus, "new", "joined", "accepted", "ready", "deleted") ||
			!oneOf(m.ItemStatus.Type, "sndNew", "sndSent", "sndRcvd", "rcvNew") {
			t.Fatalf("not upstream's enums: %s", b)
		}
		wantDir, wantContent := "directRcv", "rcvMsgContent"
		if it.Sent {
			wantDir, wantContent = "directSnd", "sndMsgContent"
		}
		if ci.ChatItem.ChatDir.Type != wantDir || ci.ChatItem.Content.Type != wantContent {
			t.Fatalf("direction: %s", b)
		}
		if len(it.SharedID) > 0 && m.ItemSharedMsgID != b64(it.SharedID) {
			t.Fatalf("itemSharedMsgId: %s", b)
		}
	})
}

func oneOf(s string, vs ...string) bool {
	for _, v := range vs {
		if s == v {
			return true
		}
	}
	return false
}
