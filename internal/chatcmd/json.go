package chatcmd

// apiValue turns a Fields value into what the bot API sends for it. Fields
// hold reference/chat values (chat.Contact, chat.Item, chat.Group, ...)
// under upstream's key names; this is the one place that knows upstream's
// JSON shape of each.
func apiValue(v any) any {
	return v
}
