package clientcert

import (
	"context"
	"errors"
	"fmt"

	"github.com/smpkit/smpkit/internal/driver"
	"github.com/smpkit/smpkit/reference/agent"
)

func init() {
	register(
		&Case{ID: "CONTACT-SHIM-OWNS", Group: "agent", Level: MUST, Spec: []string{"GC-CONTACT-1", "GC-LINK-1"},
			Title: "a request to the shim's contact address is reported with its info; joining its invitation connects", Run: contactShimOwns},
		&Case{ID: "CONTACT-SHIM-REQUESTS", Group: "agent", Level: MUST, Spec: []string{"GC-CONTACT-1"},
			Title: "the shim's request to the peer's contact address carries its info and an invitation that connects", Run: contactShimRequests},
		&Case{ID: "REDUNDANCY", Group: "agent", Level: MUST, Spec: []string{"GC-REDUNDANCY-1", "DRV-EVT-1"},
			Title: "with a second receiving queue each message is reported once, and still arrives when the first relay is down", Run: redundancy},
	)
}

func contactShimOwns(ctx context.Context, t *T) error {
	if err := t.startShim(ctx, t.S.Server); err != nil {
		return err
	}
	if err := t.need(driver.CmdCreateContact); err != nil {
		return err
	}
	rep, err := t.call(ctx, driver.Msg{Cmd: driver.CmdCreateContact})
	if err != nil {
		return err
	}
	if _, err := agent.ParseContact(rep.Link); err != nil {
		return fmt.Errorf("the shim's contact address does not parse: %w", err)
	}
	pc, err := t.peer.ag.JoinContact(ctx, rep.Link, []byte(peerInfo))
	if err != nil {
		return fmt.Errorf("the reference peer cannot request a connection: %w", err)
	}
	req, err := t.shimEvent(ctx, driver.EvReq, rep.Conn)
	if err != nil {
		return fmt.Errorf("GC-CONTACT-1: %w", err)
	}
	if driver.Val(req.Info) != peerInfo {
		return fmt.Errorf("req carries info %q, the peer sent %q", driver.Val(req.Info), peerInfo)
	}
	j, err := t.call(ctx, driver.Msg{Cmd: driver.CmdJoin, Link: req.Link, Info: driver.Str(shimInfo)})
	if err != nil {
		return fmt.Errorf("joining the requester's invitation: %w", err)
	}
	p := pair{shim: j.Conn, peer: pc}
	conf, err := t.peerEvent(ctx, agent.EventConf, pc)
	if err != nil {
		return err
	}
	if string(conf.Body) != shimInfo {
		return fmt.Errorf("the peer got info %q", conf.Body)
	}
	if err := t.peer.ag.Allow(ctx, pc, []byte(peerInfo)); err != nil {
		return err
	}
	if err := t.established(ctx, p); err != nil {
		return err
	}
	_, _, err = t.sendToShim(ctx, p, "via the contact address")
	return err
}

func contactShimRequests(ctx context.Context, t *T) error {
	if err := t.startShim(ctx, t.S.Server); err != nil {
		return err
	}
	if err := t.need(driver.CmdJoinContact); err != nil {
		return err
	}
	_, link, err := t.peer.ag.CreateContact(ctx)
	if err != nil {
		return err
	}
	rep, err := t.call(ctx, driver.Msg{Cmd: driver.CmdJoinContact, Link: link, Info: driver.Str(shimInfo)})
	if err != nil {
		return err
	}
	req, err := t.peerEvent(ctx, agent.EventReq, "")
	if err != nil {
		return fmt.Errorf("the shim's request did not reach the contact address (GC-CONTACT-1): %w", err)
	}
	if string(req.Body) != shimInfo {
		return fmt.Errorf("the request carries info %q, the shim was given %q", req.Body, shimInfo)
	}
	if _, err := agent.ParseInvitation(req.Invitation); err != nil {
		return fmt.Errorf("the request's invitation does not parse (GC-LINK-1): %w", err)
	}
	pc, err := t.peer.ag.Join(ctx, req.Invitation, []byte(peerInfo))
	if err != nil {
		return fmt.Errorf("the peer cannot join the request's invitation: %w", err)
	}
	conf, err := t.shimEvent(ctx, driver.EvConf, rep.Conn)
	if err != nil {
		return fmt.Errorf("the acceptance on the join_contact connection: %w", err)
	}
	if driver.Val(conf.Info) != peerInfo {
		return fmt.Errorf("conf carries %q", driver.Val(conf.Info))
	}
	if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdAllow, Conn: rep.Conn, Info: driver.Str(shimInfo)}); err != nil {
		return err
	}
	p := pair{shim: rep.Conn, peer: pc}
	if err := t.established(ctx, p); err != nil {
		return err
	}
	_, _, err = t.sendToPeer(ctx, p, "after a contact request")
	return err
}

func redundancy(ctx context.Context, t *T) error {
	p, err := t.connect(ctx, "fast", true)
	if err != nil {
		return err
	}
	if err := t.need(driver.CmdAddQueue); err != nil {
		return err
	}
	r, err := t.spare()
	if err != nil {
		return err
	}
	if _, err := t.call(ctx, driver.Msg{Cmd: driver.CmdAddQueue, Conn: p.shim, Relay: r.Server.String()}); err != nil {
		return err
	}
	if _, err := t.peerEvent(ctx, agent.EventSwitch, p.peer); err != nil {
		return fmt.Errorf("the added queue never came into use (GC-REDUNDANCY-1): %w", err)
	}
	if _, err := t.shimEvent(ctx, driver.EvSwitch, p.shim); err != nil {
		return fmt.Errorf("GC-REDUNDANCY-1: %w", err)
	}
	if _, _, err := t.sendToShim(ctx, p, "two copies"); err != nil {
		return err
	}
	t.S.stop()
	if _, _, err := t.sendToShim(ctx, p, "with the first relay down"); err != nil {
		return fmt.Errorf("GC-REDUNDANCY-1: %w", err)
	}
	if _, err := t.shim.events.wait(ctx, t.opts.Wait/10, func(m driver.Msg) bool { return m.Event == driver.EvMsg }); err == nil {
		return errors.New("a message was reported twice: the copy on the second queue MUST be dropped (GC-REDUNDANCY-1)")
	}
	return nil
}
