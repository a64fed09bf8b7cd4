// Package socks5 is a SOCKS5 client (RFC 1928), CONNECT only, with the
// no-authentication method and the username/password method (RFC 1929).
// Host names are sent to the proxy unresolved, so that the proxy resolves
// them (a Tor proxy resolves .onion names, and nothing leaks to local DNS).
package socks5

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Protocol constants (RFC 1928 §3-6, RFC 1929 §2).
const (
	version         = 5
	methodNone      = 0x00
	methodPassword  = 0x02
	methodNoneFound = 0xff
	cmdConnect      = 0x01
	atypIPv4        = 0x01
	atypDomain      = 0x03
	atypIPv6        = 0x04
	passwordVersion = 1
)

// Dialer connects through a SOCKS5 proxy.
type Dialer struct {
	// Proxy is the proxy's host:port.
	Proxy string
	// Username, when not empty, selects the username/password method and
	// only it; Password may be empty (Tor uses the pair only to isolate
	// circuits).
	Username, Password string
	// Dial opens the TCP connection to the proxy (default: net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// ReplyError is a proxy's refusal of CONNECT (RFC 1928 §6 REP field).
type ReplyError struct{ Code byte }

func (e *ReplyError) Error() string {
	msg := map[byte]string{1: "general failure", 2: "connection not allowed by ruleset", 3: "network unreachable",
		4: "host unreachable", 5: "connection refused", 6: "TTL expired", 7: "command not supported",
		8: "address type not supported"}[e.Code]
	if msg == "" {
		msg = "unknown reply"
	}
	return fmt.Sprintf("socks5: proxy replied %d (%s)", e.Code, msg)
}

// ErrAuth is the proxy's refusal of the offered method or credentials.
var ErrAuth = errors.New("socks5: proxy refused authentication")

// DialContext connects to addr (host:port) through the proxy. network
// must be "tcp" (or tcp4/tcp6, passed on as tcp).
func (d *Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return nil, fmt.Errorf("socks5: network %q not supported", network)
	}
	req, err := connectRequest(addr)
	if err != nil {
		return nil, err
	}
	if len(d.Username) > 255 || len(d.Password) > 255 {
		return nil, errors.New("socks5: username or password longer than 255 bytes")
	}
	dial := d.Dial
	if dial == nil {
		var nd net.Dialer
		dial = nd.DialContext
	}
	c, err := dial(ctx, "tcp", d.Proxy)
	if err != nil {
		return nil, fmt.Errorf("socks5: connect to proxy %s: %w", d.Proxy, err)
	}
	// The handshake obeys ctx: its deadline, and cancellation, which
	// unblocks reads and writes by moving the deadline to the past.
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	err = d.handshake(c, req)
	if !stop() || ctx.Err() != nil {
		err = errors.Join(err, ctx.Err())
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("socks5: via %s to %s: %w", d.Proxy, addr, err)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// connectRequest encodes CONNECT for host:port: an IP literal as an
// address, anything else as a domain name for the proxy to resolve.
func connectRequest(addr string) ([]byte, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("socks5: %w", err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("socks5: port %q: %w", portText, err)
	}
	req := []byte{version, cmdConnect, 0}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Is4() || ip.Is4In6() {
			b := ip.Unmap().As4()
			req = append(append(req, atypIPv4), b[:]...)
		} else {
			b := ip.As16()
			req = append(append(req, atypIPv6), b[:]...)
		}
	} else {
		if host == "" || len(host) > 255 {
			return nil, fmt.Errorf("socks5: host name %q: want 1 to 255 bytes", host)
		}
		req = append(append(req, atypDomain, byte(len(host))), host...)
	}
	return binary.BigEndian.AppendUint16(req, uint16(port)), nil
}

func (d *Dialer) handshake(c net.Conn, req []byte) error {
	method := byte(methodNone)
	if d.Username != "" {
		method = methodPassword
	}
	if _, err := c.Write([]byte{version, 1, method}); err != nil {
		return err
	}
	var b [4]byte
	if _, err := io.ReadFull(c, b[:2]); err != nil {
		return fmt.Errorf("method reply: %w", err)
	}
	if b[0] != version {
		return fmt.Errorf("method reply: version %d, want 5", b[0])
	}
	if b[1] != method {
		if b[1] == methodNoneFound {
			return ErrAuth
		}
		return fmt.Errorf("method reply: proxy chose method %d, not the offered %d", b[1], method)
	}
	if method == methodPassword {
		auth := append([]byte{passwordVersion, byte(len(d.Username))}, d.Username...)
		auth = append(append(auth, byte(len(d.Password))), d.Password...)
		if _, err := c.Write(auth); err != nil {
			return err
		}
		if _, err := io.ReadFull(c, b[:2]); err != nil {
			return fmt.Errorf("authentication reply: %w", err)
		}
		if b[1] != 0 {
			return ErrAuth
		}
	}
	if _, err := c.Write(req); err != nil {
		return err
	}
	if _, err := io.ReadFull(c, b[:4]); err != nil {
		return fmt.Errorf("connect reply: %w", err)
	}
	if b[0] != version {
		return fmt.Errorf("connect reply: version %d, want 5", b[0])
	}
	if b[1] != 0 {
		return &ReplyError{Code: b[1]}
	}
	// The bound address, which a client has no use for, still has to be
	// read off the stream.
	var n int
	switch b[3] {
	case atypIPv4:
		n = 4
	case atypIPv6:
		n = 16
	case atypDomain:
		if _, err := io.ReadFull(c, b[:1]); err != nil {
			return fmt.Errorf("connect reply: %w", err)
		}
		n = int(b[0])
	default:
		return fmt.Errorf("connect reply: address type %d", b[3])
	}
	if _, err := io.ReadFull(c, make([]byte, n+2)); err != nil {
		return fmt.Errorf("connect reply: %w", err)
	}
	return nil
}
