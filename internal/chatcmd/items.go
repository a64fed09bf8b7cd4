package chatcmd

import (
	"context"
	"sort"

	"github.com/smpkit/smpkit/reference/chat"
)

// Rendering items: upstream's viewChatItem, viewItemUpdate, viewItemDelete.

func (s *Engine) quoteOf(ctx context.Context, it chat.Item) quoteView {
	if it.QuoteID == 0 {
		return quoteView{}
	}
	q, err := s.c.Item(ctx, it.QuoteID)
	if err != nil {
		return quoteView{}
	}
	p := ">"
	if q.Sent == it.Sent {
		p = ">>"
	}
	return quoteView{ok: true, prefix: p, text: q.Text}
}

// itemMark is what a line says about an item beside its text.
type itemMark int

const (
	markNone    itemMark = iota
	markEdited           // "[edited]" after the name (an update)
	markDeleted          // "[marked deleted]" after the name (a deletion received)
)

func (s *Engine) directLines(ctx context.Context, c chat.Contact, it chat.Item, mark itemMark) []string {
	ts := msgTime(s.opts.Now(), it.CreatedAt)
	name := viewName(contactName(c))
	var head string
	if it.Sent {
		head = incognitoPrefix(c) + "@" + name + " "
	} else {
		head = incognitoPrefix(c) + name + "> "
	}
	q := s.quoteOf(ctx, it)
	switch mark {
	case markEdited:
		head += "[edited] "
	case markDeleted:
		return messageLines(ts, head+"[marked deleted] ", quoteView{}, it.Text)
	}
	ls := messageLines(ts, head, q, it.Text)
	if it.Deleted && mark == markNone {
		for i := range ls {
			ls[i] += " [marked deleted]"
		}
	}
	return ls
}

func (s *Engine) groupLines(g chat.Group, m *chat.Member, it chat.GroupItem) []string {
	ts := msgTime(s.opts.Now(), it.CreatedAt)
	head := groupRef(g) + " "
	if !it.Sent {
		name := "?"
		if m != nil {
			name = viewName(memberName(*m))
		}
		head += name + "> "
	}
	ls := messageLines(ts, head, quoteView{}, it.Text)
	suffix, extra := groupItemExtra(it)
	if suffix != "" {
		for i := range ls {
			ls[i] += suffix
		}
	}
	return append(ls, extra...)
}

func (s *Engine) directItem(c chat.Contact, it chat.Item) AChatItem {
	return AChatItem{Contact: &c, Item: &it}
}

// tailDirect is the last n items of a contact.
func (s *Engine) tailDirect(ctx context.Context, c chat.Contact, n int) ([]AChatItem, []string, error) {
	items, err := s.c.Items(ctx, c.ID, 0, n)
	if err != nil {
		return nil, nil, err
	}
	var ais []AChatItem
	var ls []string
	for _, it := range items {
		s.remember(it)
		ais = append(ais, s.directItem(c, it))
		ls = append(ls, s.directLines(ctx, c, it, markNone)...)
		ls = append(ls, reactionsLine(it.Reactions)...)
	}
	return ais, ls, nil
}

func (s *Engine) tailGroup(ctx context.Context, g chat.Group, n int) ([]AChatItem, []string, error) {
	items, err := s.c.GroupItems(ctx, g.ID, 0, n)
	if err != nil {
		return nil, nil, err
	}
	ms, _ := s.c.Members(ctx, g.ID)
	byID := map[int64]*chat.Member{}
	for i := range ms {
		byID[ms[i].ID] = &ms[i]
	}
	var ais []AChatItem
	var ls []string
	for _, it := range items {
		m := byID[it.Author]
		gc, itc := g, it
		ais = append(ais, AChatItem{Group: &gc, Member: m, GroupItem: &itc})
		ls = append(ls, s.groupLines(g, m, it)...)
	}
	return ais, ls, nil
}

// tailAll is the last n items of all the user's chats, oldest first.
func (s *Engine) tailAll(ctx context.Context, userID int64, n int) ([]AChatItem, []string, error) {
	type entry struct {
		ai AChatItem
		ls []string
		at int64
	}
	var all []entry
	cs, err := s.c.Contacts(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	for _, c := range cs {
		items, err := s.c.Items(ctx, c.ID, 0, n)
		if err != nil {
			return nil, nil, err
		}
		for _, it := range items {
			ls := append(s.directLines(ctx, c, it, markNone), reactionsLine(it.Reactions)...)
			all = append(all, entry{s.directItem(c, it), ls, it.CreatedAt.UnixNano()})
		}
	}
	gs, err := s.c.Groups(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	for _, g := range gs {
		ais, _, err := s.tailGroup(ctx, g, n)
		if err != nil {
			return nil, nil, err
		}
		for _, ai := range ais {
			all = append(all, entry{ai, s.groupLines(g, ai.Member, *ai.GroupItem), ai.GroupItem.CreatedAt.UnixNano()})
		}
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].at < all[j].at })
	if len(all) > n {
		all = all[len(all)-n:]
	}
	var ais []AChatItem
	var ls []string
	for _, e := range all {
		ais = append(ais, e.ai)
		ls = append(ls, e.ls...)
	}
	return ais, ls, nil
}
