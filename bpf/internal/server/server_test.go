package server

import (
	"testing"
	"time"

	"flowlens.dev/agent/internal/flow"
)

func recs(n int) []flow.Record { return make([]flow.Record, n) }

// Windows leave the store by age, or oldest first when the record cap is
// exceeded; the newest window always stays.
func TestStoreRetentionAndCap(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := NewStore("n", 10*time.Second, 5)
	s.Publish(t0, recs(2))
	s.Publish(t0.Add(5*time.Second), recs(2))
	if got := len(s.Since(time.Time{})); got != 4 {
		t.Fatalf("%d records, want 4", got)
	}
	s.Publish(t0.Add(6*time.Second), recs(2)) // 6 > cap 5: the oldest window goes
	if got := len(s.Since(time.Time{})); got != 4 {
		t.Fatalf("after cap: %d records, want 4", got)
	}
	s.Publish(t0.Add(30*time.Second), recs(1)) // the others are older than 10s
	if got := len(s.Since(time.Time{})); got != 1 {
		t.Fatalf("after retention: %d records, want 1", got)
	}
	s.Publish(t0.Add(31*time.Second), recs(9)) // alone above the cap, yet kept
	if got := len(s.Since(t0.Add(30 * time.Second))); got != 9 {
		t.Fatalf("newest window: %d records, want 9", got)
	}
}

// A stream client that stops reading is disconnected instead of blocking the window loop.
func TestSlowSubscriberDropped(t *testing.T) {
	s := NewStore("n", time.Hour, 1000)
	ch := s.subscribe()
	for i := 0; i <= subscriberBuffer; i++ {
		s.Publish(time.Unix(int64(i), 0), recs(1))
	}
	n := 0
	for range ch {
		n++
	}
	if n != subscriberBuffer {
		t.Fatalf("received %d windows before the disconnect, want %d", n, subscriberBuffer)
	}
}
