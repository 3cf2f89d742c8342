package main

import (
	"strings"
	"testing"
)

// TestGCMemoryLimitFlag: --gc-memory-limit defaults to -1 (derive from the
// cgroup), takes 0 and sizes in MiB, and refuses anything below -1.
func TestGCMemoryLimitFlag(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		want    int64
		wantErr string
	}{
		{name: "default derives", want: -1},
		{name: "none", args: []string{"--gc-memory-limit=0"}, want: 0},
		{name: "explicit", args: []string{"--gc-memory-limit=192"}, want: 192},
		{name: "below -1", args: []string{"--gc-memory-limit=-2"}, wantErr: "--gc-memory-limit=-2: give a number of MiB, 0 (none) or -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseControllerFlags(tc.args)
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			case f.memLimitMiB != tc.want:
				t.Errorf("memLimitMiB = %d, want %d", f.memLimitMiB, tc.want)
			}
		})
	}
}
