# One small non-root image with both binaries: /manager renders pages,
# /server serves them. The Helm chart runs each as its own command.
#   docker build --build-arg VERSION=0.1.0 -t ghcr.io/isr-operator/isr-operator:0.1.0 .
FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so code changes do not refetch them.
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/isr-operator/isr-operator/internal/version.Version=${VERSION}" \
      -o /out/manager ./cmd/manager && \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath \
      -ldflags "-s -w -X github.com/isr-operator/isr-operator/internal/version.Version=${VERSION}" \
      -o /out/server ./cmd/server

# distroless static: CA certificates for https origins, no shell, uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/manager /out/server /
USER 65532:65532
ENTRYPOINT ["/manager"]
