# herald's image: `herald` (controller, speaker, frr-agent) and
# `kubectl-herald`, static binaries on distroless/static.
#   docker build -t ghcr.io/heraldlb/herald:dev .
FROM golang:1.26 AS build
ARG VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -ldflags "-s -w -X github.com/heraldlb/herald/internal/version.Version=${VERSION}" -o /out/herald ./cmd/herald \
 && CGO_ENABLED=0 go build -ldflags "-s -w -X github.com/heraldlb/herald/internal/version.Version=${VERSION}" -o /out/kubectl-herald ./cmd/kubectl-herald
# A static busybox, only so the speaker's init container can copy herald into
# the emptyDir it shares with the FRR container (distroless has no cp).
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends busybox-static >/dev/null \
 && cp /bin/busybox /out/busybox

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/herald /herald
COPY --from=build /out/kubectl-herald /kubectl-herald
COPY --from=build /out/busybox /busybox
USER 65532:65532
ENTRYPOINT ["/herald"]
