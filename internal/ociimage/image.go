package ociimage

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// Media types and annotations of the OCI image spec and containerd.
const (
	MediaTypeIndex     = "application/vnd.oci.image.index.v1+json"
	MediaTypeManifest  = "application/vnd.oci.image.manifest.v1+json"
	MediaTypeConfig    = "application/vnd.oci.image.config.v1+json"
	MediaTypeLayer     = "application/vnd.oci.image.layer.v1.tar"
	MediaTypeLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	// AnnotationRefName is the OCI annotation naming an image in index.json.
	AnnotationRefName = "org.opencontainers.image.ref.name"
	// AnnotationImageName is the annotation containerd's importer reads
	// first for the image's name, used as given (no prefix added).
	AnnotationImageName = "io.containerd.image.name"
)

// Descriptor points at one blob (OCI image spec, descriptor.md).
type Descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Platform    *Platform         `json:"platform,omitempty"`
}

// Platform is a descriptor's os and architecture.
type Platform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// Index is index.json of an image layout.
type Index struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []Descriptor `json:"manifests"`
}

// Manifest is an image manifest.
type Manifest struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Config        Descriptor   `json:"config"`
	Layers        []Descriptor `json:"layers"`
}

// ImageConfig is the image configuration blob (OCI image spec, config.md).
type ImageConfig struct {
	Created      time.Time     `json:"created"`
	Architecture string        `json:"architecture"`
	OS           string        `json:"os"`
	Config       RuntimeConfig `json:"config"`
	RootFS       RootFS        `json:"rootfs"`
	History      []History     `json:"history"`
}

// RuntimeConfig is the "config" object of ImageConfig.
type RuntimeConfig struct {
	User       string            `json:"User,omitempty"`
	Env        []string          `json:"Env,omitempty"`
	Entrypoint []string          `json:"Entrypoint,omitempty"`
	Cmd        []string          `json:"Cmd,omitempty"`
	WorkingDir string            `json:"WorkingDir,omitempty"`
	Labels     map[string]string `json:"Labels,omitempty"`
}

// RootFS lists the uncompressed digests (diffIDs) of the layers.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// History is one entry of the config's history.
type History struct {
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
}

// Result names what Write produced.
type Result struct {
	Name     string
	Manifest Descriptor
	Config   Descriptor
	Layer    Descriptor
	// DiffID is the digest of the uncompressed layer tar.
	DiffID string
}

// WriteFile writes img as an OCI image-layout tar to path, through a
// temporary file beside it renamed into place once complete.
func WriteFile(path string, img Image) (Result, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".ociimage-*.tar")
	if err != nil {
		return Result{}, fmt.Errorf("writing image %s: %w", img.Name, err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	res, err := Write(tmp, img, dir)
	if err != nil {
		return Result{}, err
	}
	if err := tmp.Close(); err != nil {
		return Result{}, fmt.Errorf("writing image %s: %w", img.Name, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return Result{}, fmt.Errorf("writing image %s: %w", img.Name, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return Result{}, fmt.Errorf("writing image %s: %w", img.Name, err)
	}
	return res, nil
}

// Write writes img as an OCI image-layout tar to w. The layer is staged in
// a temporary file in scratchDir ("" means the system's temporary folder),
// since its size and digest go before it in the archive.
func Write(w io.Writer, img Image, scratchDir string) (Result, error) {
	if err := validateName(img.Name); err != nil {
		return Result{}, err
	}
	if err := ParseUser(img.Config.User); err != nil {
		return Result{}, fmt.Errorf("image %s: %w", img.Name, err)
	}
	if fi, err := os.Stat(img.Root); err != nil || !fi.IsDir() {
		return Result{}, fmt.Errorf("image %s: root file system %q is not a directory (%v)", img.Name, img.Root, err)
	}
	created := img.created()

	layerFile, err := os.CreateTemp(scratchDir, ".ociimage-layer-*")
	if err != nil {
		return Result{}, fmt.Errorf("image %s: staging the layer: %w", img.Name, err)
	}
	defer os.Remove(layerFile.Name())
	defer layerFile.Close()
	layer, diffID, err := stageLayer(layerFile, img)
	if err != nil {
		return Result{}, fmt.Errorf("image %s: %w", img.Name, err)
	}

	osName, arch := img.platform()
	cfg := ImageConfig{
		Created:      created,
		Architecture: arch,
		OS:           osName,
		Config: RuntimeConfig{
			User:       img.Config.User,
			Env:        img.Config.Env,
			Entrypoint: img.Config.Entrypoint,
			Cmd:        img.Config.Cmd,
			WorkingDir: img.Config.WorkingDir,
			Labels:     img.Config.Labels,
		},
		RootFS:  RootFS{Type: "layers", DiffIDs: []string{diffID}},
		History: []History{{Created: created, CreatedBy: "herald internal/ociimage: one layer from a directory"}},
	}
	cfgJSON, cfgDesc, err := blob(MediaTypeConfig, cfg)
	if err != nil {
		return Result{}, fmt.Errorf("image %s: %w", img.Name, err)
	}
	man := Manifest{SchemaVersion: 2, MediaType: MediaTypeManifest, Config: cfgDesc, Layers: []Descriptor{layer}}
	manJSON, manDesc, err := blob(MediaTypeManifest, man)
	if err != nil {
		return Result{}, fmt.Errorf("image %s: %w", img.Name, err)
	}
	manDesc.Platform = &Platform{Architecture: arch, OS: osName}
	manDesc.Annotations = map[string]string{AnnotationImageName: img.Name, AnnotationRefName: img.Name}
	idxJSON, err := json.Marshal(Index{SchemaVersion: 2, MediaType: MediaTypeIndex, Manifests: []Descriptor{manDesc}})
	if err != nil {
		return Result{}, fmt.Errorf("image %s: encoding index.json: %w", img.Name, err)
	}

	if _, err := layerFile.Seek(0, io.SeekStart); err != nil {
		return Result{}, fmt.Errorf("image %s: rereading the layer: %w", img.Name, err)
	}
	blobs := []struct {
		desc Descriptor
		r    io.Reader
	}{
		{cfgDesc, bytes.NewReader(cfgJSON)},
		{layer, layerFile},
		{manDesc, bytes.NewReader(manJSON)},
	}
	sort.Slice(blobs, func(i, j int) bool { return blobs[i].desc.Digest < blobs[j].desc.Digest })

	tw := tar.NewWriter(w)
	add := func(name string, size int64, r io.Reader) error {
		hdr := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: created}
		if r == nil {
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("image %s: writing %s: %w", img.Name, name, err)
		}
		if r == nil {
			return nil
		}
		if n, err := io.Copy(tw, r); err != nil || n != size {
			return fmt.Errorf("image %s: writing %s (%d of %d bytes): %v", img.Name, name, n, size, err)
		}
		return nil
	}
	layout := []byte(`{"imageLayoutVersion":"1.0.0"}`)
	if err := add("oci-layout", int64(len(layout)), bytes.NewReader(layout)); err != nil {
		return Result{}, err
	}
	if err := add("index.json", int64(len(idxJSON)), bytes.NewReader(idxJSON)); err != nil {
		return Result{}, err
	}
	if err := add("blobs/", 0, nil); err != nil {
		return Result{}, err
	}
	if err := add("blobs/sha256/", 0, nil); err != nil {
		return Result{}, err
	}
	for _, b := range blobs {
		if err := add("blobs/sha256/"+b.desc.Digest[len("sha256:"):], b.desc.Size, b.r); err != nil {
			return Result{}, err
		}
	}
	if err := tw.Close(); err != nil {
		return Result{}, fmt.Errorf("image %s: closing the archive: %w", img.Name, err)
	}
	return Result{Name: img.Name, Manifest: manDesc, Config: cfgDesc, Layer: layer, DiffID: diffID}, nil
}

// stageLayer writes the layer to f (compressed when img.Gzip) and returns
// its descriptor and its diffID.
func stageLayer(f *os.File, img Image) (Descriptor, string, error) {
	blobSum, diffSum := sha256.New(), sha256.New()
	blobCount := &countWriter{w: io.MultiWriter(f, blobSum)}
	var (
		tarOut io.Writer = blobCount
		gz     *gzip.Writer
	)
	mediaType := MediaTypeLayer
	if img.Gzip {
		gz = gzip.NewWriter(blobCount) // zero header: no name, no mtime
		tarOut = gz
		mediaType = MediaTypeLayerGzip
	}
	if err := writeLayer(io.MultiWriter(tarOut, diffSum), img.Root, img.Ownership, img.created()); err != nil {
		return Descriptor{}, "", err
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return Descriptor{}, "", fmt.Errorf("compressing the layer: %w", err)
		}
	}
	return Descriptor{MediaType: mediaType, Digest: digestOf(blobSum), Size: blobCount.n}, digestOf(diffSum), nil
}

func blob(mediaType string, v any) ([]byte, Descriptor, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, Descriptor{}, fmt.Errorf("encoding %s: %w", mediaType, err)
	}
	sum := sha256.Sum256(b)
	return b, Descriptor{MediaType: mediaType, Digest: "sha256:" + hex.EncodeToString(sum[:]), Size: int64(len(b))}, nil
}

func digestOf(h interface{ Sum([]byte) []byte }) string {
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
