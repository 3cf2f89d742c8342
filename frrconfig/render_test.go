package frrconfig

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/<test name>.golden, rewriting the file
// under -update.
func golden(t *testing.T, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", filepath.FromSlash(t.Name())+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run `go test ./frrconfig -update` to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("Render differs from %s (-want +got):\n%s", path, diff)
	}
}

func TestRender(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.cfg)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			golden(t, got)
			// Render's output is already in the order Normalize gives.
			var plain []string
			for _, l := range strings.Split(string(got), "\n") {
				if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "!") && l != "end" {
					plain = append(plain, l)
				}
			}
			if diff := cmp.Diff(plain, Normalize(got)); diff != "" {
				t.Errorf("Render's output is not in Normalize's order (-render +normalized):\n%s", diff)
			}
		})
	}
}

// TestRenderConcurrent renders from several goroutines at once: the parsed
// templates are shared package state and must only be read (run with -race).
func TestRenderConcurrent(t *testing.T) {
	want, err := Render(diffBase())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := Render(diffBase())
			if err == nil && string(got) != string(want) {
				err = fmt.Errorf("concurrent Render printed something else:\n%s", cmp.Diff(string(want), string(got)))
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
