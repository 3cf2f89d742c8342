package images

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/heraldlb/herald/internal/testenv"
)

// built reads bin/images/images.env, which `make images` writes, and returns
// its values with paths made absolute. Under CI=true a missing file fails
// the test; elsewhere it skips, and with -short it always skips.
func built(t *testing.T) map[string]string {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping with -short: needs the images `make images` builds")
	}
	root := testenv.ModuleRoot(t)
	f, err := os.Open(filepath.Join(root, "bin", "images", "images.env"))
	if err != nil {
		if testenv.InCI() {
			t.Fatalf("CI=true and the images are not built (run `make images`): %v", err)
		}
		t.Skipf("skipping: the images are not built (run `make images`): %v", err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		if strings.HasSuffix(k, "_ARCHIVE") || strings.HasSuffix(k, "_ROOTFS") {
			if !filepath.IsAbs(v) {
				v = filepath.Join(root, v)
			}
		}
		env[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}
