package main

import (
	"sync"
	"time"
)

// errorLogPeriod is how often, at most, one target's errors are logged.
const errorLogPeriod = 10 * time.Second

// throttle lets an event through at most once per period and counts the events it held back,
// so a failing target logs one line per period however fast it fails.
type throttle struct {
	period time.Duration
	now    func() time.Time // time.Now; tests substitute a clock

	mu   sync.Mutex
	last time.Time
	held int64
}

func newThrottle(period time.Duration) *throttle {
	return &throttle{period: period, now: time.Now}
}

// allow reports whether this event may be logged and, if so, how many were held back since the last one.
func (t *throttle) allow() (ok bool, held int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if !t.last.IsZero() && now.Sub(t.last) < t.period {
		t.held++
		return false, 0
	}
	t.last, held, t.held = now, t.held, 0
	return true, held
}

// throttledWriter passes at most one write per period to w; net/http's ErrorLog goes through it.
type throttledWriter struct {
	t *throttle
	w func(p []byte)
}

func (tw throttledWriter) Write(p []byte) (int, error) {
	if ok, _ := tw.t.allow(); ok {
		tw.w(p)
	}
	return len(p), nil
}
