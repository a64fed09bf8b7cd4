// Package socks5test is a minimal SOCKS5 server (RFC 1928 CONNECT, RFC
// 1929 username/password) on loopback, for tests of SOCKS clients. It
// records what each client asked for and resolves names through a map,
// the way a Tor proxy resolves .onion names nobody else can.
package socks5test

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
)

// Request is one CONNECT the server received.
type Request struct {
	Method             byte   // 0 none, 2 username/password
	Username, Password string // with method 2
	Host               string // as sent: a domain name or an IP literal
	Domain             bool   // Host was sent as a domain name (ATYP 3)
	Port               int
}

// Server is a running SOCKS5 server.
type Server struct {
	Addr string
	// Names maps host names (as sent) to the host:port actually dialled;
	// other names fail with reply 4 (host unreachable). IP literals are
	// dialled as given.
	Names map[string]string

	ln       net.Listener
	mu       sync.Mutex
	requests []Request
	conns    map[net.Conn]struct{}
	wg       sync.WaitGroup
}

// Start listens on 127.0.0.1 and stops when the test ends.
func Start(t testing.TB, names map[string]string) *Server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), Names: names, ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// Requests returns the CONNECTs received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(c)
		}()
	}
}

// track remembers c until it is closed, so that the test's end closes it.
func (s *Server) track(c net.Conn) func() {
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
	}
}

func (s *Server) handle(c net.Conn) {
	defer s.track(c)()
	var r Request
	b := make([]byte, 262)
	if _, err := io.ReadFull(c, b[:2]); err != nil || b[0] != 5 {
		return
	}
	methods := make([]byte, b[1])
	if _, err := io.ReadFull(c, methods); err != nil {
		return
	}
	r.Method = 0xff
	for _, m := range methods {
		if m == 2 || (m == 0 && r.Method == 0xff) {
			r.Method = m // prefer username/password, as Tor does
		}
	}
	c.Write([]byte{5, r.Method})
	switch r.Method {
	case 0xff:
		return
	case 2:
		if _, err := io.ReadFull(c, b[:2]); err != nil || b[0] != 1 {
			return
		}
		u := make([]byte, b[1])
		if _, err := io.ReadFull(c, u); err != nil {
			return
		}
		if _, err := io.ReadFull(c, b[:1]); err != nil {
			return
		}
		p := make([]byte, b[0])
		if _, err := io.ReadFull(c, p); err != nil {
			return
		}
		r.Username, r.Password = string(u), string(p)
		c.Write([]byte{1, 0})
	}
	if _, err := io.ReadFull(c, b[:4]); err != nil || b[0] != 5 || b[1] != 1 {
		return
	}
	switch b[3] {
	case 1, 4:
		n := 4
		if b[3] == 4 {
			n = 16
		}
		ip := make([]byte, n)
		if _, err := io.ReadFull(c, ip); err != nil {
			return
		}
		a, _ := netip.AddrFromSlice(ip)
		r.Host = a.String()
	case 3:
		if _, err := io.ReadFull(c, b[:1]); err != nil {
			return
		}
		h := make([]byte, b[0])
		if _, err := io.ReadFull(c, h); err != nil {
			return
		}
		r.Host, r.Domain = string(h), true
	default:
		c.Write([]byte{5, 8, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	if _, err := io.ReadFull(c, b[:2]); err != nil {
		return
	}
	r.Port = int(binary.BigEndian.Uint16(b[:2]))
	s.mu.Lock()
	s.requests = append(s.requests, r)
	s.mu.Unlock()
	target := net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
	if r.Domain {
		var ok bool
		if target, ok = s.Names[r.Host]; !ok {
			c.Write([]byte{5, 4, 0, 1, 0, 0, 0, 0, 0, 0})
			return
		}
	}
	up, err := net.Dial("tcp", target)
	if err != nil {
		c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer s.track(up)()
	c.Write([]byte{5, 0, 0, 1, 127, 0, 0, 1, 0, 0})
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
}
