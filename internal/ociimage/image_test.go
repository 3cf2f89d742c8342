package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// makeTree writes a small tree: a directory, a plain and an executable
// file, a symlink, and a hard link. mode sets the plain file's permission
// bits and mtime every entry's time, so that two trees can differ in what
// the image must not record.
func makeTree(t *testing.T, mode fs.FileMode, mtime time.Time) string {
	t.Helper()
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "etc"), 0o700))
	must(os.MkdirAll(filepath.Join(dir, "tmp"), 0o700))
	must(os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte("root:x:0:0:root:/root:/sbin/nologin\n"), mode))
	must(os.WriteFile(filepath.Join(dir, "herald"), []byte("#!/bin/true\n"), 0o700))
	must(os.Link(filepath.Join(dir, "herald"), filepath.Join(dir, "kubectl-herald")))
	must(os.Symlink("herald", filepath.Join(dir, "h")))
	for _, p := range []string{"etc/passwd", "herald", "etc", "tmp", "."} {
		must(os.Chtimes(filepath.Join(dir, p), mtime, mtime))
	}
	return dir
}

type entry struct {
	Name     string
	Type     byte
	Mode     int64
	UID, GID int
	Link     string
	Body     string
	ModTime  int64
}

// archive is a written image read back.
type archive struct {
	names []string
	files map[string][]byte
}

func readArchive(t *testing.T, b []byte) archive {
	t.Helper()
	a := archive{files: map[string][]byte{}}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return a
		}
		if err != nil {
			t.Fatalf("reading the archive: %v", err)
		}
		a.names = append(a.names, h.Name)
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		a.files[h.Name] = body
	}
}

func (a archive) blob(t *testing.T, d Descriptor) []byte {
	t.Helper()
	b, ok := a.files["blobs/sha256/"+strings.TrimPrefix(d.Digest, "sha256:")]
	if !ok {
		t.Fatalf("blob %s is not in the archive", d.Digest)
	}
	if got := digest(b); got != d.Digest {
		t.Errorf("blob %s holds bytes whose digest is %s", d.Digest, got)
	}
	if int64(len(b)) != d.Size {
		t.Errorf("blob %s: descriptor says %d bytes, blob has %d", d.Digest, d.Size, len(b))
	}
	return b
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func layerEntries(t *testing.T, layer []byte) []entry {
	t.Helper()
	var out []entry
	tr := tar.NewReader(bytes.NewReader(layer))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("reading the layer: %v", err)
		}
		body, _ := io.ReadAll(tr)
		out = append(out, entry{h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Linkname, string(body), h.ModTime.Unix()})
	}
}

func write(t *testing.T, img Image) ([]byte, Result) {
	t.Helper()
	var buf bytes.Buffer
	res, err := Write(&buf, img, t.TempDir())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes(), res
}

func TestWrite(t *testing.T) {
	created := time.Unix(1700000000, 0)
	for _, gz := range []bool{true, false} {
		name := map[bool]string{true: "gzip", false: "plain"}[gz]
		t.Run(name, func(t *testing.T) {
			img := Image{
				Name: "localhost/herald:v1.2.3",
				Root: makeTree(t, 0o600, time.Unix(42, 0)),
				Ownership: Ownership{
					UID: 0, GID: 0,
					Override: map[string]Attr{"/tmp": {UID: -1, GID: -1, Mode: 0o777 | fs.ModeSticky}},
				},
				Config: Config{
					Entrypoint: []string{"/herald"},
					Cmd:        []string{"version"},
					Env:        []string{"A=b"},
					User:       "65532:65532",
					WorkingDir: "/",
					Labels:     map[string]string{"org.opencontainers.image.version": "v1.2.3"},
				},
				Created: created,
				Gzip:    gz,
			}
			b, res := write(t, img)
			a := readArchive(t, b)

			wantNames := []string{"oci-layout", "index.json", "blobs/", "blobs/sha256/"}
			blobs := []string{res.Manifest.Digest, res.Config.Digest, res.Layer.Digest}
			for _, d := range sortedCopy(blobs) {
				wantNames = append(wantNames, "blobs/sha256/"+strings.TrimPrefix(d, "sha256:"))
			}
			if diff := cmp.Diff(wantNames, a.names); diff != "" {
				t.Errorf("archive entries (-want +got):\n%s", diff)
			}
			if got := string(a.files["oci-layout"]); got != `{"imageLayoutVersion":"1.0.0"}` {
				t.Errorf("oci-layout = %s", got)
			}

			var idx Index
			if err := json.Unmarshal(a.files["index.json"], &idx); err != nil {
				t.Fatalf("index.json: %v", err)
			}
			wantIdx := Index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: []Descriptor{{
				MediaType: MediaTypeManifest, Digest: res.Manifest.Digest, Size: res.Manifest.Size,
				Annotations: map[string]string{AnnotationImageName: "localhost/herald:v1.2.3", AnnotationRefName: "localhost/herald:v1.2.3"},
				Platform:    &Platform{OS: "linux", Architecture: idx.Manifests[0].Platform.Architecture},
			}}}
			if diff := cmp.Diff(wantIdx, idx); diff != "" {
				t.Errorf("index.json (-want +got):\n%s", diff)
			}

			var man Manifest
			if err := json.Unmarshal(a.blob(t, res.Manifest), &man); err != nil {
				t.Fatalf("manifest: %v", err)
			}
			wantLayerType := map[bool]string{true: MediaTypeLayerGzip, false: MediaTypeLayer}[gz]
			if diff := cmp.Diff(Manifest{SchemaVersion: 2, MediaType: MediaTypeManifest, Config: res.Config,
				Layers: []Descriptor{{MediaType: wantLayerType, Digest: res.Layer.Digest, Size: res.Layer.Size}}}, man); diff != "" {
				t.Errorf("manifest (-want +got):\n%s", diff)
			}

			var cfg ImageConfig
			if err := json.Unmarshal(a.blob(t, man.Config), &cfg); err != nil {
				t.Fatalf("config: %v", err)
			}
			layer := a.blob(t, man.Layers[0])
			if gz {
				zr, err := gzip.NewReader(bytes.NewReader(layer))
				if err != nil {
					t.Fatalf("layer is not gzip: %v", err)
				}
				if layer, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if got := digest(layer); got != res.DiffID || cfg.RootFS.DiffIDs[0] != got {
				t.Errorf("diffID: uncompressed layer %s, result %s, config %v", got, res.DiffID, cfg.RootFS.DiffIDs)
			}
			if !gz && res.DiffID != res.Layer.Digest {
				t.Errorf("an uncompressed layer's digest %s differs from its diffID %s", res.Layer.Digest, res.DiffID)
			}
			wantCfg := ImageConfig{
				Created: created.UTC(), Architecture: cfg.Architecture, OS: "linux",
				Config: RuntimeConfig{User: "65532:65532", Env: []string{"A=b"}, Entrypoint: []string{"/herald"},
					Cmd: []string{"version"}, WorkingDir: "/", Labels: map[string]string{"org.opencontainers.image.version": "v1.2.3"}},
				RootFS:  RootFS{Type: "layers", DiffIDs: []string{res.DiffID}},
				History: []History{{Created: created.UTC(), CreatedBy: "herald internal/ociimage: one layer from a directory"}},
			}
			if diff := cmp.Diff(wantCfg, cfg); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}

			ts := created.Unix()
			wantLayer := []entry{
				{Name: "etc/", Type: tar.TypeDir, Mode: 0o755, ModTime: ts},
				{Name: "etc/passwd", Type: tar.TypeReg, Mode: 0o644, Body: "root:x:0:0:root:/root:/sbin/nologin\n", ModTime: ts},
				{Name: "h", Type: tar.TypeSymlink, Mode: 0o777, Link: "herald", ModTime: ts},
				{Name: "herald", Type: tar.TypeReg, Mode: 0o755, Body: "#!/bin/true\n", ModTime: ts},
				{Name: "kubectl-herald", Type: tar.TypeLink, Mode: 0o755, Link: "herald", ModTime: ts},
				{Name: "tmp/", Type: tar.TypeDir, Mode: 0o1777, ModTime: ts},
			}
			if diff := cmp.Diff(wantLayer, layerEntries(t, layer)); diff != "" {
				t.Errorf("layer (-want +got):\n%s", diff)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	for i := range c {
		for j := i + 1; j < len(c); j++ {
			if c[j] < c[i] {
				c[i], c[j] = c[j], c[i]
			}
		}
	}
	return c
}

// TestDeterministic builds the same content from two trees that differ in
// mtimes and in permission bits the spec normalizes: the archives must be
// byte for byte the same.
func TestDeterministic(t *testing.T) {
	img := func(root string) Image {
		return Image{Name: "localhost/x:1", Root: root, Gzip: true, Config: Config{Entrypoint: []string{"/herald"}}}
	}
	a, ra := write(t, img(makeTree(t, 0o600, time.Unix(1, 0))))
	b, rb := write(t, img(makeTree(t, 0o664, time.Now())))
	if ra.Manifest.Digest != rb.Manifest.Digest || !bytes.Equal(a, b) {
		t.Errorf("two builds of the same content differ: manifests %s and %s, %d and %d bytes", ra.Manifest.Digest, rb.Manifest.Digest, len(a), len(b))
	}
	c, rc := write(t, Image{Name: "localhost/x:2", Root: makeTree(t, 0o600, time.Unix(1, 0)), Gzip: true, Config: Config{Entrypoint: []string{"/herald"}}})
	if rc.Manifest.Digest != ra.Manifest.Digest {
		t.Errorf("the name changed the manifest: %s vs %s", rc.Manifest.Digest, ra.Manifest.Digest)
	}
	if bytes.Equal(a, c) {
		t.Errorf("two names gave the same archive: index.json must carry the name")
	}
}

// TestKeepOwners takes modes (and, as root, owners) from the tree.
func TestKeepOwners(t *testing.T) {
	root := makeTree(t, 0o640, time.Unix(1, 0))
	if err := os.Chmod(filepath.Join(root, "herald"), 0o750|fs.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	uid, gid := os.Getuid(), os.Getgid()
	if os.Geteuid() == 0 {
		uid, gid = 100, 101
		if err := os.Lchown(filepath.Join(root, "etc", "passwd"), uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	b, res := write(t, Image{Name: "localhost/x:1", Root: root, Ownership: Ownership{Keep: true}})
	got := map[string]entry{}
	for _, e := range layerEntries(t, readArchive(t, b).blob(t, res.Layer)) {
		got[e.Name] = entry{Mode: e.Mode, UID: e.UID, GID: e.GID}
	}
	want := map[string]entry{
		"etc/passwd": {Mode: 0o640, UID: uid, GID: gid},
		"herald":     {Mode: 0o4750, UID: os.Getuid(), GID: os.Getgid()},
	}
	for name, w := range want {
		if diff := cmp.Diff(w, got[name]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name, ref string
		ok        bool
	}{
		{"localhost", "localhost/herald:v1", true},
		{"registry with port", "localhost:5000/herald:v1", true},
		{"domain and path", "registry.k8s.io/pause:3.10", true},
		{"no host", "herald/herald:v1", false},
		{"bare name", "herald:v1", false},
		{"no tag", "localhost/herald", false},
		{"port no tag", "localhost:5000/herald", false},
		{"latest", "localhost/herald:latest", false},
		{"empty tag", "localhost/herald:", false},
		{"digest", "localhost/herald@sha256:00", false},
		{"empty", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := validateName(tc.ref)
			if (err == nil) != tc.ok {
				t.Errorf("validateName(%q) = %v, want ok=%v", tc.ref, err, tc.ok)
			}
		})
	}
}

func TestParseAttr(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		path     string
		want     Attr
		wantErr  bool
	}{
		{name: "sticky", in: "/tmp=1777", path: "/tmp", want: Attr{UID: -1, GID: -1, Mode: 0o777 | fs.ModeSticky}},
		{name: "owner", in: "/home/nonroot/=0700:65532:65532", path: "/home/nonroot", want: Attr{UID: 65532, GID: 65532, Mode: 0o700}},
		{name: "setuid", in: "/bin/x=4755", path: "/bin/x", want: Attr{UID: -1, GID: -1, Mode: 0o755 | fs.ModeSetuid}},
		{name: "relative path", in: "tmp=1777", wantErr: true},
		{name: "not octal", in: "/tmp=999", wantErr: true},
		{name: "too big", in: "/tmp=17777", wantErr: true},
		{name: "uid only", in: "/tmp=1777:0", wantErr: true},
		{name: "bad gid", in: "/tmp=1777:0:x", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, got, err := ParseAttr(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParseAttr(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if path != tc.path {
				t.Errorf("path = %q, want %q", path, tc.path)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("attr (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteRefusesBadInput(t *testing.T) {
	root := makeTree(t, 0o644, time.Unix(1, 0))
	for _, tc := range []struct {
		name string
		img  Image
		want string
	}{
		{"unqualified", Image{Name: "herald:v1", Root: root}, "no registry host"},
		{"latest", Image{Name: "localhost/herald:latest", Root: root}, ":latest"},
		{"no root", Image{Name: "localhost/herald:v1", Root: filepath.Join(root, "nope")}, "is not a directory"},
		{"bad user", Image{Name: "localhost/herald:v1", Root: root, Config: Config{User: ":1"}}, "want UID[:GID]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Write(io.Discard, tc.img, t.TempDir())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Write = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestOpen reads back what WriteFile wrote, through Archive.
func TestOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.oci.tar")
	res, err := WriteFile(path, Image{Name: "localhost/x:1", Root: makeTree(t, 0o644, time.Unix(1, 0)), Gzip: true,
		Config: Config{Entrypoint: []string{"/herald"}, User: "65532:65532"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if a.Name != "localhost/x:1" || a.Index.Manifests[0].Digest != res.Manifest.Digest || a.Config.Config.User != "65532:65532" {
		t.Errorf("Open = name %q, manifest %s, user %q; want localhost/x:1, %s, 65532:65532", a.Name, a.Index.Manifests[0].Digest, a.Config.Config.User, res.Manifest.Digest)
	}
	var names []string
	if err := a.WalkLayer(func(h *tar.Header, r io.Reader) error {
		names = append(names, h.Name)
		return nil
	}); err != nil {
		t.Fatalf("WalkLayer: %v", err)
	}
	if diff := cmp.Diff([]string{"etc/", "etc/passwd", "h", "herald", "kubectl-herald", "tmp/"}, names); diff != "" {
		t.Errorf("layer entries (-want +got):\n%s", diff)
	}

	// A config whose diffID does not match the layer is caught.
	a.Config.RootFS.DiffIDs = []string{"sha256:00"}
	if err := a.WalkLayer(func(*tar.Header, io.Reader) error { return nil }); err == nil || !strings.Contains(err.Error(), "diffID") {
		t.Errorf("WalkLayer with a wrong diffID = %v, want a diffID error", err)
	}
}
