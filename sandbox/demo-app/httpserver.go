package main

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

const defaultResponseBytes = 1024

// filler is the content of every body this program sends, request or response.
var filler = func() []byte {
	b := make([]byte, 32<<10)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}()

// fillerReader yields n bytes of filler.
type fillerReader struct{ n int64 }

func (r *fillerReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)]
	for off := 0; off < len(p); {
		off += copy(p[off:], filler)
	}
	r.n -= int64(len(p))
	return len(p), nil
}

// httpHandler answers any method and path with 200 and ?size=<bytes> bytes (default 1024),
// after reading the request body to its end.
type httpHandler struct {
	name  string
	stats *httpStats
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Demo-Server", h.name)
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		h.stats.badReqs.Add(1)
		return // the client went away; nothing to answer
	}
	size := int64(defaultResponseBytes)
	if q := r.URL.Query(); q.Has("size") {
		size, err = strconv.ParseInt(q.Get("size"), 10, 64)
		if err != nil || size < 0 || size > maxBodyBytes {
			h.stats.badReqs.Add(1)
			http.Error(w, "size: want a whole number of bytes from 0 to "+strconv.Itoa(maxBodyBytes), http.StatusBadRequest)
			return
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	for left := size; left > 0; {
		m, err := w.Write(filler[:min(left, int64(len(filler)))])
		if err != nil {
			h.stats.badReqs.Add(1)
			return
		}
		left -= int64(m)
	}
	// Only whole exchanges count, so the counters are exact multiples of the sizes asked for.
	h.stats.requests.Add(1)
	h.stats.requestBytes.Add(n)
	h.stats.responseBytes.Add(size)
}

// serveHTTP serves h on ln until ctx ends, then closes every connection.
func serveHTTP(ctx context.Context, ln net.Listener, h *httpHandler, logger *slog.Logger) {
	errorLog := throttledWriter{t: newThrottle(errorLogPeriod), w: func(p []byte) {
		logger.Warn("http server error", "port", h.stats.port, "err", string(trimNewline(p)))
	}}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       30 * time.Second,
		ErrorLog:          log.New(errorLog, "", 0),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	<-ctx.Done()
	srv.Close()
	<-done
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}
