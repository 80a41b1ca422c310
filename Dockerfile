# CUSAX Bridge container image: a static binary on distroless, run as the
# nonroot user (uid/gid 65532, the uid deploy/k8s runs the pods as).
#
#   docker build --build-arg VERSION=$(git describe --tags --always --dirty) -t cusax-bridge:dev .
#
# Ports (set with BRIDGE_* variables, see `bridge --help`):
#   5060/udp, 5060/tcp  SIP (BRIDGE_SIP_LISTEN)
#   8080/tcp            ops HTTP: /healthz, /readyz, /metrics, /drain (BRIDGE_HTTP_LISTEN)
#   20000-29999/udp     RTP audio (BRIDGE_RTP_PORTS), advertised in SDP at
#                       BRIDGE_RTP_ADDRESS. Not EXPOSEd: `docker run -P` would
#                       publish ten thousand ports one proxy each. Publish the
#                       range explicitly (-p 20000-29999:20000-29999/udp) or
#                       run with --network host.

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION} AS build
WORKDIR /src
# Dependencies first: this layer stays cached while only the code changes.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# No cgo: the mixer's recvmmsg goes through golang.org/x/sys, pure Go, so the
# binary is static and needs no libc in the runtime image.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/bridge ./cmd/bridge \
 && mkdir -p /out/data

# static: CA certificates (rediss://, sips:), tzdata and /etc/passwd with the
# nonroot user; no shell, so the Kubernetes preStop is an exec of the binary.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bridge /bridge
# The embedded store's directory, writable by nonroot; mount a volume here to
# keep rooms and bans across container restarts (without --redis-url).
COPY --from=build --chown=65532:65532 /out/data /var/lib/cusax-bridge
ENV BRIDGE_DATA_DIR=/var/lib/cusax-bridge \
    BRIDGE_HTTP_LISTEN=0.0.0.0:8080
USER 65532:65532
EXPOSE 5060/udp 5060/tcp 8080/tcp
ENTRYPOINT ["/bridge"]
