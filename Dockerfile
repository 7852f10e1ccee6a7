# syntax=docker/dockerfile:1
# Multi-stage build: a static binary in a distroless image (CA certificates and
# time zones included), running as a non-root user with its state in /data.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# cmd/blink2mqtt/docker_test.go runs this exact line; keep it on one line.
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/blink2mqtt ./cmd/blink2mqtt
# /data is made 0700 as an entry of a copied directory: COPY keeps the modes
# of what is inside its source, not of the source directory itself. A named
# volume starts as a copy of it; the daemon makes a looser one it owns private.
RUN mkdir -p /out/rootfs && mkdir -m 0700 /out/rootfs/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/blink2mqtt /usr/local/bin/blink2mqtt
COPY --from=build --chown=65532:65532 /out/rootfs/ /
ENV STATE_DIR=/data \
    HTTP_LISTEN=:8080 \
    LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 8080
USER 65532:65532
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["/usr/local/bin/blink2mqtt", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/blink2mqtt"]
CMD ["run"]
