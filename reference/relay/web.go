package relay

import (
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// WebConfig serves HTTPS on the relay's own ports to clients that send SNI,
// as upstream does when [WEB] https names an SMP port (Server.hs runServer:
// the SNI credential is used and the connection goes to the web server).
// SMP clients send no SNI, so they are not affected.
type WebConfig struct {
	// Certificate is what HTTPS clients get (upstream [WEB] cert and key).
	Certificate tls.Certificate
	// Handler answers their requests.
	Handler http.Handler
}

// webServer is the HTTP server those connections are handed to.
type webServer struct {
	tls *tls.Config
	srv *http.Server
	ln  *connQueue
}

func newWebServer(cfg *WebConfig) *webServer {
	w := &webServer{
		tls: &tls.Config{Certificates: []tls.Certificate{cfg.Certificate}, MinVersion: tls.VersionTLS12,
			NextProtos: []string{"http/1.1"}},
		srv: &http.Server{Handler: cfg.Handler, ReadHeaderTimeout: 10 * time.Second},
		ln:  &connQueue{conns: make(chan net.Conn), done: make(chan struct{})},
	}
	go w.srv.Serve(w.ln)
	return w
}

// forSNI picks the web TLS configuration for clients that name a server.
func (w *webServer) forSNI(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if hello.ServerName != "" {
		return w.tls, nil
	}
	return nil, nil // the SMP configuration
}

// serve hands one TLS connection to the web server and waits until it is
// done with it, so the caller's accounting and close stay as for SMP.
func (w *webServer) serve(c *tls.Conn, stop <-chan struct{}) {
	wc := &webConn{Conn: c, closed: make(chan struct{})}
	select {
	case w.ln.conns <- wc:
	case <-w.ln.done:
		return
	}
	select {
	case <-wc.closed:
	case <-stop:
	}
}

func (w *webServer) close() {
	w.ln.Close()
	w.srv.Close()
}

// connQueue is a net.Listener fed with connections accepted elsewhere.
type connQueue struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.done:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.done) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4zero} }

// webConn tells serve when the web server has closed the connection.
type webConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *webConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.closed) })
	return err
}
