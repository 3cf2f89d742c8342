package frragent_test

import (
	"os"
	"syscall"
	"testing"
)

func statOwner(t *testing.T, fi os.FileInfo) [2]int {
	t.Helper()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		t.Fatalf("no owner in %T", fi.Sys())
	}
	return [2]int{int(st.Uid), int(st.Gid)}
}
