// Package server keeps the recent windows and serves the agent HTTP API of
// the product brief: /v1/flows, /v1/flows/stream, /healthz and /readyz.
package server

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"flowlens.dev/agent/internal/flow"
)

type window struct {
	end  time.Time
	recs []flow.Record
}

// Store holds the windows of the last retention period and fans each new
// window out to stream subscribers.
type Store struct {
	node       string
	retention  time.Duration
	maxRecords int

	mu      sync.Mutex
	windows []window
	records int
	subs    map[chan []flow.Record]struct{}
}

// subscriberBuffer is how many windows a stream client may lag before it is
// disconnected: the window loop never waits for a slow reader.
const subscriberBuffer = 16

// NewStore keeps windows for retention, but never more than maxRecords
// records (oldest windows go first), which bounds memory when every window
// has very many flows.
func NewStore(node string, retention time.Duration, maxRecords int) *Store {
	return &Store{node: node, retention: retention, maxRecords: maxRecords, subs: map[chan []flow.Record]struct{}{}}
}

// Publish adds a closed window (possibly empty) and sends it to subscribers.
func (s *Store) Publish(end time.Time, recs []flow.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.windows = append(s.windows, window{end, recs})
	s.records += len(recs)
	cut := 0
	for cut < len(s.windows)-1 && (s.windows[cut].end.Before(end.Add(-s.retention)) || s.records > s.maxRecords) {
		s.records -= len(s.windows[cut].recs)
		cut++
	}
	s.windows = append(s.windows[:0:0], s.windows[cut:]...)
	for ch := range s.subs {
		select {
		case ch <- recs:
		default:
			delete(s.subs, ch)
			close(ch)
		}
	}
}

// Since returns the records of windows that ended after t.
func (s *Store) Since(t time.Time) []flow.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []flow.Record{}
	for _, w := range s.windows {
		if w.end.After(t) {
			out = append(out, w.recs...)
		}
	}
	return out
}

func (s *Store) subscribe() chan []flow.Record {
	ch := make(chan []flow.Record, subscriberBuffer)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch
}

func (s *Store) unsubscribe(ch chan []flow.Record) {
	s.mu.Lock()
	if _, ok := s.subs[ch]; ok {
		delete(s.subs, ch)
		close(ch)
	}
	s.mu.Unlock()
}

// FlowsResponse is the body of GET /v1/flows.
type FlowsResponse struct {
	Node  string        `json:"node"`
	Flows []flow.Record `json:"flows"`
}

// APIHandler serves the flow API; ready reports readiness.
func APIHandler(s *Store, ready func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/flows", func(w http.ResponseWriter, r *http.Request) {
		var since time.Time
		if v := r.URL.Query().Get("since"); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				http.Error(w, "since: not an RFC3339 time: "+v, http.StatusBadRequest)
				return
			}
			since = t
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(FlowsResponse{Node: s.node, Flows: s.Since(since)})
	})
	mux.HandleFunc("GET /v1/flows/stream", func(w http.ResponseWriter, r *http.Request) {
		ch := s.subscribe()
		defer s.unsubscribe(ch)
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		_ = rc.Flush()
		enc := json.NewEncoder(w)
		for {
			select {
			case <-r.Context().Done():
				return
			case recs, ok := <-ch:
				if !ok {
					return // fell too far behind
				}
				for i := range recs {
					if enc.Encode(&recs[i]) != nil {
						return
					}
				}
				if rc.Flush() != nil {
					return
				}
			}
		}
	})
	AddHealth(mux, ready)
	return mux
}

// AddHealth registers /healthz (the process serves) and /readyz (probes
// attached and, in Kubernetes mode, the pod cache synced).
func AddHealth(mux *http.ServeMux, ready func() bool) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
}
