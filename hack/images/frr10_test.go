package images

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/heraldlb/herald/frrconfig"
	"github.com/heraldlb/herald/internal/testenv"
)

// TestFRR10RunsRenderedConfigs boots the FRR image's FRR 10 on each of
// frrconfig's golden configs (what Render prints, and what the host's FRR
// 8.4 is checked against in frrconfig's TestRenderMatchesFRR), given as the
// frr.conf already in the /etc/frr volume: herald-frr-start must keep it,
// `vtysh -C` must accept it, and FRR's running config must be, line for
// line, the rendered one. So both FRR versions herald meets run its configs.
func TestFRR10RunsRenderedConfigs(t *testing.T) {
	rootfs := frrRootfs(t)
	goldens, err := filepath.Glob(filepath.Join(testenv.ModuleRoot(t), "frrconfig", "testdata", "TestRender", "*.golden"))
	if err != nil || len(goldens) == 0 {
		t.Fatalf("no frrconfig golden files (%v)", err)
	}
	sort.Strings(goldens)
	for _, golden := range goldens {
		name := strings.TrimSuffix(filepath.Base(golden), ".golden")
		t.Run(name, func(t *testing.T) {
			t.Parallel() // each chroot has its own namespaces
			rendered, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			c := startChroot(t, rootfs, chrootOptions{FRRConf: string(rendered)},
				append([]string{"/usr/local/bin/herald-frr-start"}, markerCmd...)...)
			if err := c.waitFor(2*time.Minute, "herald-frr-start to exec its command", func() bool {
				_, err := os.Stat(c.upperPath(cmdMarker))
				return err == nil
			}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(c.output(), "frr.conf was absent") {
				t.Errorf("herald-frr-start replaced the frr.conf that was in the volume")
			}
			if out, err := c.exec(ctx, "vtysh", "-C", "-f", "/etc/frr/frr.conf"); err != nil {
				t.Errorf("vtysh -C -f frr.conf: %v\n%s", err, out)
			}
			out, err := c.exec(ctx, "vtysh", "-c", "show running-config")
			if err != nil {
				t.Fatalf("show running-config: %v\n%s", err, out)
			}
			if diff := cmp.Diff(frrconfig.Normalize(rendered), frrconfig.Normalize([]byte(out))); diff != "" {
				t.Errorf("FRR 10's running config differs from the rendered %s (-rendered +running):\n%s", filepath.Base(golden), diff)
			}
		})
	}
}
