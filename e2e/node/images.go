package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// heraldImages names the images `make images` built: the herald image and
// herald's FRR sidecar image, and their OCI archives.
type heraldImages struct {
	Herald, FRR               string // fully qualified names with tags
	HeraldArchive, FRRArchive string
}

// readImagesEnv reads bin/images/images.env (HERALD_IMAGE=..., FRR_IMAGE=...)
// and finds the archives beside it.
func readImagesEnv(dir string) (heraldImages, error) {
	path := filepath.Join(dir, "images.env")
	f, err := os.Open(path)
	if err != nil {
		return heraldImages{}, fmt.Errorf("reading the images' names: %w (run `make images`)", err)
	}
	defer f.Close()
	im := heraldImages{HeraldArchive: filepath.Join(dir, "herald.oci.tar"), FRRArchive: filepath.Join(dir, "herald-frr.oci.tar")}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch k {
		case "HERALD_IMAGE":
			im.Herald = strings.Trim(v, `"'`)
		case "FRR_IMAGE":
			im.FRR = strings.Trim(v, `"'`)
		}
	}
	if err := sc.Err(); err != nil {
		return heraldImages{}, fmt.Errorf("reading %s: %w", path, err)
	}
	if im.Herald == "" || im.FRR == "" {
		return heraldImages{}, fmt.Errorf("%s names no HERALD_IMAGE or no FRR_IMAGE: run `make images`", path)
	}
	for _, a := range []string{im.HeraldArchive, im.FRRArchive} {
		if _, err := os.Stat(a); err != nil {
			return heraldImages{}, fmt.Errorf("image archive: %w (run `make images`)", err)
		}
	}
	return im, nil
}

// testImage is an image the e2e assembles itself: one static Go program.
type testImage struct {
	name, pkg, binary string
}

var testImages = []testImage{
	{pauseImage, "./e2e/node/pause", "pause"},
	{webImage, "./e2e/node/web", "web"},
}

// buildTestImages compiles the pause and web programs (static) and
// assembles each into a one-layer OCI archive with hack/ociimage; it
// returns the archives.
func buildTestImages(ctx context.Context, p paths, moduleRoot string) ([]string, error) {
	var archives []string
	for _, im := range testImages {
		rootfs := filepath.Join(p.images(), im.binary+"-rootfs")
		if err := os.MkdirAll(rootfs, 0o755); err != nil {
			return nil, fmt.Errorf("building image %s: %w", im.name, err)
		}
		build := []string{"env", "CGO_ENABLED=0", "go", "build", "-C", moduleRoot, "-trimpath", "-o", filepath.Join(rootfs, im.binary), im.pkg}
		if _, err := run(ctx, build...); err != nil {
			return nil, fmt.Errorf("building image %s: %w", im.name, err)
		}
		out := filepath.Join(p.images(), im.binary+".oci.tar")
		assemble := []string{"go", "run", "-C", moduleRoot, "./hack/ociimage", "-o", out, "-name", im.name,
			"-rootfs", rootfs, "-entrypoint", "/" + im.binary, "-user", "65532:65532"}
		if im.binary == "pause" {
			assemble = assemble[:len(assemble)-2] // the sandbox runs as the pod says
		}
		if _, err := run(ctx, assemble...); err != nil {
			return nil, fmt.Errorf("assembling image %s: %w", im.name, err)
		}
		archives = append(archives, out)
	}
	return archives, nil
}

// importImages imports OCI archives into the node's containerd, in the
// namespace the CRI plugin reads.
func (c *cluster) importImages(ctx context.Context, archives ...string) error {
	for _, a := range archives {
		if _, err := c.ctr(ctx, "images", "import", a); err != nil {
			return fmt.Errorf("importing %s: %w", a, err)
		}
	}
	return nil
}
