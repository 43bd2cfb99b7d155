package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPSizeParameter(t *testing.T) {
	st := &httpStats{port: 80}
	srv := httptest.NewServer(&httpHandler{name: "catalog-1", stats: st})
	defer srv.Close()

	var wantReqBytes, wantRespBytes int64
	for _, tc := range []struct {
		method, path string
		body         int
		status       int
		size         int
	}{
		{"GET", "/", 0, 200, 1024},
		{"GET", "/any/path?x=1", 0, 200, 1024},
		{"POST", "/items?size=0", 256, 200, 0},
		{"POST", "/items?size=4096", 256, 200, 4096},
		{"PUT", "/?size=100000", 70000, 200, 100000}, // over the 32 KiB filler: written in chunks
		{"GET", "/?size=", 0, 400, -1},
		{"GET", "/?size=-1", 0, 400, -1},
		{"GET", "/?size=1k", 0, 400, -1},
		{"GET", "/?size=67108865", 0, 400, -1},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(strings.Repeat("x", tc.body)))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || resp.Header.Get("X-Demo-Server") != "catalog-1" {
			t.Errorf("%s %s: %s, X-Demo-Server %q", tc.method, tc.path, resp.Status, resp.Header.Get("X-Demo-Server"))
		}
		wantReqBytes += int64(tc.body)
		if tc.size >= 0 {
			if len(body) != tc.size || resp.ContentLength != int64(tc.size) {
				t.Errorf("%s %s: %d body bytes, Content-Length %d, want %d", tc.method, tc.path, len(body), resp.ContentLength, tc.size)
			}
			wantRespBytes += int64(tc.size)
		}
	}
	if st.requests.Load() != 5 || st.badReqs.Load() != 4 || st.requestBytes.Load() != wantReqBytes ||
		st.responseBytes.Load() != wantRespBytes {
		t.Errorf("stats: requests %d bad %d requestBytes %d (want %d) responseBytes %d (want %d)", st.requests.Load(),
			st.badReqs.Load(), st.requestBytes.Load(), wantReqBytes, st.responseBytes.Load(), wantRespBytes)
	}
}

func TestFillerReader(t *testing.T) {
	for _, n := range []int64{0, 1, 32 << 10, 100001} {
		b, err := io.ReadAll(&fillerReader{n: n})
		if err != nil || int64(len(b)) != n {
			t.Errorf("fillerReader %d: %d bytes, %v", n, len(b), err)
		}
	}
}
