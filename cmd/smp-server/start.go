package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"syscall"
	"time"

	"github.com/smpkit/smpkit/internal/buildinfo"
	"github.com/smpkit/smpkit/reference/relay"
	"github.com/smpkit/smpkit/reference/store"
	"github.com/smpkit/smpkit/reference/transport"
)

// metricsFile is where prometheus_interval writes, as upstream names it.
const metricsFile = "smp-server-metrics.txt"

func newLogger(w io.Writer, format string, level slog.Level) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{fmt.Errorf("--log-format must be text or json, not %q", format)}
}

func cmdStart(args []string, stdout, stderr io.Writer) error {
	fs, dir := newFlags("start", "Serve SMP until SIGINT or SIGTERM; a clean stop loses nothing, and with\nfsync=each neither does kill -9 for any message answered OK.", stderr)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error (info never logs queue ids or content)")
	logFormat := fs.String("log-format", "text", "text or json (one JSON object a line, for log collectors)")
	fsync := fs.String("fsync", "", "override [STORE_LOG] fsync: each, interval or never")
	if err := parse(fs, args); err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError{fmt.Errorf("--log-level: %v", err)}
	}
	log, err := newLogger(stderr, *logFormat, level)
	if err != nil {
		return err
	}
	var fsyncPolicy store.SyncPolicy
	if *fsync != "" {
		if fsyncPolicy, err = store.ParseSyncPolicy(*fsync); err != nil {
			return usageError{err}
		}
	}
	s, creds, err := load(*dir, log)
	if err != nil {
		return err
	}
	if *fsync != "" {
		s.Fsync = fsyncPolicy
	}
	log.Info("starting", "version", buildinfo.Version())
	if src := s.Information["source_code"]; src != "" {
		log.Info("server source code", "uri", src)
	} else {
		log.Warn("server source code is not specified: add source_code to [INFORMATION]")
	}
	var st *store.Store
	if s.StoreEnabled {
		var rec *store.Recovery
		st, rec, err = store.Open(*dir, storeOptions(s))
		if err != nil {
			return err
		}
		defer st.Close()
		log.Info("store loaded", "queues", rec.Queues, "messages", rec.Messages, "elapsed", rec.Elapsed)
		for _, d := range rec.Dropped {
			log.Warn("store damage set aside", "detail", d)
		}
	} else {
		log.Warn("store log disabled ([STORE_LOG] enable = off): queues and messages are lost on restart")
	}
	rcfg := relay.ConfigFromSettings(s, creds, st, log)
	sharedHTTPS := s.WebHTTPS != "" && slices.Contains(s.Ports, s.WebHTTPS)
	if sharedHTTPS {
		// As upstream: clients that send SNI on this SMP port get HTTPS.
		cert, err := tls.LoadX509KeyPair(s.WebCert, s.WebKey)
		if err != nil {
			return fmt.Errorf("[WEB] cert and key: %w", err)
		}
		rcfg.Web = &relay.WebConfig{Certificate: cert, Handler: http.FileServer(http.Dir(s.WebStaticPath))}
		log.Info("web server", "port", s.WebHTTPS, "tls", true, "shared", true)
	}
	r, err := relay.New(rcfg)
	if err != nil {
		return err
	}
	started := time.Now()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, len(s.Ports)+3)
	fail := func(err error) error {
		r.Close()
		log.Error("start failed", "err", err)
		return err
	}
	for _, p := range s.Ports {
		ln, err := net.Listen("tcp", net.JoinHostPort(s.ListenAddress, p))
		if err != nil {
			return fail(err)
		}
		log.Info("listening", "addr", ln.Addr().String())
		go func() { errc <- r.Serve(ln) }()
	}
	if s.ControlPort != "" {
		// Loopback only, as upstream's control port (runLocalTCPServer).
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", s.ControlPort))
		if err != nil {
			return fail(fmt.Errorf("control port: %w", err))
		}
		log.Info("control port", "addr", ln.Addr().String())
		ccfg := relay.ControlConfig{AdminPassword: s.ControlAdminPassword, UserPassword: s.ControlUserPassword,
			Reload: func() (*transport.Credentials, error) { return transport.LoadCredentials(*dir) }}
		go func() { errc <- r.ServeControl(ln, ccfg) }()
	}
	if s.MetricsListen != "" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", r.MetricsHandler())
		hs := &http.Server{Addr: s.MetricsListen, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- hs.ListenAndServe() }()
		defer hs.Close()
		log.Info("metrics", "url", "http://"+s.MetricsListen+"/metrics")
	}
	if s.PrometheusInterval > 0 {
		go writeMetrics(ctx, r, filepath.Join(*dir, metricsFile), s.PrometheusInterval, log)
	}
	addr := address(creds, s)
	if s.WebStaticPath != "" {
		public := s
		public.CreatePassword = "" // the page is public; the password is not
		if err := writeInfoPage(s, address(creds, public)); err != nil {
			log.Warn("server information page not written", "err", err)
		} else {
			log.Info("server information page written", "dir", s.WebStaticPath)
		}
	}
	for _, web := range []struct{ port, cert, key string }{{s.WebHTTP, "", ""}, {s.WebHTTPS, s.WebCert, s.WebKey}} {
		if web.port == "" || (web.cert != "" && sharedHTTPS) {
			continue
		}
		hs := &http.Server{Addr: net.JoinHostPort(s.ListenAddress, web.port), Handler: http.FileServer(http.Dir(s.WebStaticPath)),
			ReadHeaderTimeout: 10 * time.Second}
		ln, err := net.Listen("tcp", hs.Addr)
		if err != nil {
			return fail(fmt.Errorf("[WEB]: %w", err))
		}
		go func() {
			if web.cert != "" {
				errc <- hs.ServeTLS(ln, web.cert, web.key)
			} else {
				errc <- hs.Serve(ln)
			}
		}()
		defer hs.Close()
		log.Info("web server", "addr", ln.Addr().String(), "tls", web.cert != "")
	}
	fmt.Fprintln(stdout, addr)
	var why string
	select {
	case <-ctx.Done():
		why = "signal"
	case err = <-errc:
		why = "listener failed"
		log.Error("listener failed", "err", err)
	}
	log.Info("stopping", "reason", why)
	r.Close()
	queues, messages := r.Store().Counts()
	log.Info("stopped", "reason", why, "uptime", time.Since(started).Round(time.Second).String(), "queues", queues, "messages", messages)
	return err
}

// storeOptions maps [STORE_LOG] to the store's options, where zero means
// the default: a configured 0 keeps no backups and compacts at any size.
func storeOptions(s relay.Settings) store.Options {
	o := store.Options{Sync: s.Fsync, SyncInterval: s.FsyncInterval, Backups: s.Backups, CompactMin: s.CompactMin}
	if o.Backups == 0 {
		o.Backups = -1
	}
	if o.CompactMin == 0 {
		o.CompactMin = 1
	}
	return o
}

// writeMetrics writes the metrics file every interval, replacing it
// whole, as upstream's prometheus_interval does.
func writeMetrics(ctx context.Context, r *relay.Relay, path string, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			var b bytes.Buffer
			fmt.Fprintf(&b, "# Recorded at: %s\n\n", now.UTC().Format(time.RFC3339))
			r.WriteMetrics(&b)
			tmp := path + ".tmp"
			err := os.WriteFile(tmp, b.Bytes(), 0o644)
			if err == nil {
				err = os.Rename(tmp, path)
			}
			if err != nil {
				log.Warn("metrics file not written", "err", err)
			}
		}
	}
}

var infoPage = template.Must(template.New("index").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>SMP relay {{.Host}}</title></head>
<body>
<h1>SMP relay</h1>
<p>Server address: <code>{{.Address}}</code></p>
<table>
{{range .Info}}<tr><th>{{.Key}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
<p>{{.Version}}</p>
</body></html>
`))

// writeInfoPage writes [WEB] static_path/index.html with the server
// address and [INFORMATION], the part of upstream's generated site smpkit
// makes (no link pages); serve the directory with any web server.
func writeInfoPage(s relay.Settings, addr string) error {
	type kv struct{ Key, Value string }
	var info []kv
	for k, v := range s.Information {
		info = append(info, kv{k, v})
	}
	sort.Slice(info, func(i, j int) bool { return info[i].Key < info[j].Key })
	if err := os.MkdirAll(s.WebStaticPath, 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	if err := infoPage.Execute(&b, map[string]any{"Host": s.Host, "Address": addr, "Info": info, "Version": buildinfo.Line("smp-server")}); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(s.WebStaticPath, "index.html"), b.Bytes(), 0o644)
}
