package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// discardLog is a logger for in-process tests; the binary's log lines are checked by the netns test.
func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
