// Package images holds the tests of herald's container images as
// `make images` writes them to bin/images (hack/build-images.sh): the herald
// image agrees with the Dockerfile's final stage, and the FRR sidecar image's
// root file system starts FRR 10 and reports its daemons' health. The files
// of this folder (herald/etc, herald-frr/) go into those images.
package images
