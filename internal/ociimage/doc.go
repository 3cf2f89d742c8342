// Package ociimage assembles a one-layer OCI image from a directory tree and
// writes it as an OCI image-layout tar archive, ready for
// `ctr -n k8s.io images import`, with no registry and no external tool.
//
// The output is deterministic: the layer lists the tree's entries in
// lexical order, every timestamp is one fixed time, and owners and modes
// come from an Ownership spec rather than from the machine that built the
// tree (unless the spec asks to keep them, as for a root file system made
// by a package manager). Building the same tree twice gives the same bytes
// and the same digests.
//
// The image is named by the fully qualified reference given in Image.Name
// (for example localhost/herald:v1.2.0): index.json carries it in both
// io.containerd.image.name, which containerd's importer reads first, and
// org.opencontainers.image.ref.name, which other OCI tools read.
package ociimage
