# herald's image for registry builds: `herald` (controller, speaker,
# frr-agent) and `kubectl-herald`, static binaries, and a static busybox.
#   docker build --build-arg VERSION=v1.2.3 -t ghcr.io/heraldlb/herald:v1.2.3 .
# `make images` assembles the same image with no registry (hack/build-images.sh);
# hack/images/dockerfile_test.go checks that the two hold the same files,
# user and entrypoint.
FROM golang:1.26 AS build
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/heraldlb/herald/internal/version.Version=${VERSION}" -o /out/herald ./cmd/herald \
 && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/heraldlb/herald/internal/version.Version=${VERSION}" -o /out/kubectl-herald ./cmd/kubectl-herald
# A static busybox, only so the speaker's init container can copy herald into
# the emptyDir it shares with the FRR container (the image has no cp).
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null \
 && cp /bin/busybox /out/busybox

FROM scratch
# /etc/passwd and /etc/group: root and nonroot (65532), as in distroless.
COPY hack/images/herald/etc/ /etc/
COPY --from=build /out/herald /herald
COPY --from=build /out/kubectl-herald /kubectl-herald
COPY --from=build /out/busybox /busybox
USER 65532:65532
ENTRYPOINT ["/herald"]
