package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// Archive is an image-layout tar read back: what a test or a tool needs to
// check an image without a container runtime.
type Archive struct {
	path string
	// Name is the image's name from index.json (io.containerd.image.name).
	Name     string
	Index    Index
	Manifest Manifest
	Config   ImageConfig
}

// Open reads an image-layout tar with one image of one layer, checking the
// digest and size of the manifest and the config.
func Open(path string) (*Archive, error) {
	a := &Archive{path: path}
	idx, err := a.member("index.json", -1)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(idx, &a.Index); err != nil {
		return nil, fmt.Errorf("%s: index.json: %w", path, err)
	}
	if len(a.Index.Manifests) != 1 {
		return nil, fmt.Errorf("%s: index.json lists %d manifests, want 1", path, len(a.Index.Manifests))
	}
	md := a.Index.Manifests[0]
	a.Name = md.Annotations[AnnotationImageName]
	man, err := a.blob(md)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(man, &a.Manifest); err != nil {
		return nil, fmt.Errorf("%s: manifest: %w", path, err)
	}
	if len(a.Manifest.Layers) != 1 {
		return nil, fmt.Errorf("%s: the manifest lists %d layers, want 1", path, len(a.Manifest.Layers))
	}
	cfg, err := a.blob(a.Manifest.Config)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(cfg, &a.Config); err != nil {
		return nil, fmt.Errorf("%s: config: %w", path, err)
	}
	return a, nil
}

// WalkLayer calls fn for each entry of the image's layer, in order, with a
// reader of the entry's content, and checks that the uncompressed layer's
// digest is the config's diffID.
func (a *Archive) WalkLayer(fn func(h *tar.Header, r io.Reader) error) error {
	d := a.Manifest.Layers[0]
	f, err := os.Open(a.path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	name := "blobs/sha256/" + strings.TrimPrefix(d.Digest, "sha256:")
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("%s: layer %s is missing", a.path, d.Digest)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", a.path, err)
		}
		if h.Name == name {
			break
		}
	}
	var layer io.Reader = tr
	if d.MediaType == MediaTypeLayerGzip {
		zr, err := gzip.NewReader(tr)
		if err != nil {
			return fmt.Errorf("%s: layer: %w", a.path, err)
		}
		defer zr.Close()
		layer = zr
	}
	sum := sha256.New()
	lr := tar.NewReader(io.TeeReader(layer, sum))
	for {
		h, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: reading the layer: %w", a.path, err)
		}
		if err := fn(h, lr); err != nil {
			return err
		}
	}
	if _, err := io.Copy(io.Discard, io.TeeReader(layer, sum)); err != nil { // tar padding after the end marker
		return fmt.Errorf("%s: reading the layer: %w", a.path, err)
	}
	if got, want := digestOf(sum), a.Config.RootFS.DiffIDs; len(want) != 1 || got != want[0] {
		return fmt.Errorf("%s: the layer's diffID is %s, the config says %v", a.path, got, want)
	}
	return nil
}

// member returns the content of one file of the archive; size -1 means any.
func (a *Archive) member(name string, size int64) ([]byte, error) {
	f, err := os.Open(a.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, fmt.Errorf("%s: %s is missing", a.path, name)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", a.path, err)
		}
		if h.Name != name {
			continue
		}
		if size >= 0 && h.Size != size {
			return nil, fmt.Errorf("%s: %s has %d bytes, its descriptor says %d", a.path, name, h.Size, size)
		}
		var b bytes.Buffer
		if _, err := io.Copy(&b, tr); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", a.path, name, err)
		}
		return b.Bytes(), nil
	}
}

func (a *Archive) blob(d Descriptor) ([]byte, error) {
	b, err := a.member("blobs/sha256/"+strings.TrimPrefix(d.Digest, "sha256:"), d.Size)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write(b)
	if got := digestOf(h); got != d.Digest {
		return nil, fmt.Errorf("%s: blob %s has digest %s", a.path, d.Digest, got)
	}
	return b, nil
}
