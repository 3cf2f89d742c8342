package images

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/heraldlb/herald/internal/testenv"
)

// TestImagesImportIntoContainerd imports both archives into a private
// containerd (hack/images-import-check.sh: its own config, root, state and
// socket; never the host's) and checks that ctr lists them, unpacked, under
// the names images.env gives.
func TestImagesImportIntoContainerd(t *testing.T) {
	testenv.RequireRoot(t)
	for _, b := range []string{"containerd", "ctr"} {
		if _, err := exec.LookPath(b); err != nil {
			if testenv.InCI() {
				t.Fatalf("CI=true and %s is missing (hack/install-deps.sh installs containerd): %v", b, err)
			}
			t.Skipf("skipping: %s is missing (apt-get install containerd runc): %v", b, err)
		}
	}
	env := built(t)
	cmd := exec.Command(filepath.Join(testenv.ModuleRoot(t), "hack", "images-import-check.sh"),
		env["HERALD_IMAGE"]+"="+env["HERALD_ARCHIVE"], env["FRR_IMAGE"]+"="+env["FRR_ARCHIVE"])
	out, err := cmd.CombinedOutput()
	t.Logf("hack/images-import-check.sh:\n%s", out)
	if err != nil {
		t.Fatalf("importing the images: %v", err)
	}
}
