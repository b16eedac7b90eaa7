# syntax=docker/dockerfile:1
# The vkube image: vkube and the Kubernetes control plane of one version on scratch, running as
# uid 1000. `make image` builds the same layout without Docker (hack/image); keep the two in step.
#
#   docker build --build-arg KUBE_VERSION=v1.34.2 -t ghcr.io/vkube/vkube:0.1.0-k8s-v1.34.2 .
ARG KUBE_VERSION=v1.34.2
ARG VKUBE_VERSION=0.1.0

FROM golang:1.26 AS build
ARG KUBE_VERSION
ARG VKUBE_VERSION
ENV VKUBE_CACHE=/vkube-cache
WORKDIR /src
# The Kubernetes binaries first: they change with KUBE_VERSION only, so editing vkube's sources
# does not rebuild them (a few minutes on a cold cache).
COPY hack/kube-binaries.sh hack/
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    hack/kube-binaries.sh "$KUBE_VERSION" kube-apiserver kube-controller-manager kube-scheduler
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
# .git is not in the context, so the version comes from the build argument.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    make build VERSION="v$VKUBE_VERSION" COMMIT=unknown
# scratch has no shell: the small files get their owners and modes here, and COPY --from keeps them.
RUN mkdir -p /rootfs/etc/ssl/certs \
 && cp -R hack/image/rootfs/etc/. /rootfs/etc/ \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && chown -R 0:0 /rootfs/etc && chmod -R u=rwX,go=rX /rootfs/etc \
 && install -d -o 0 -g 0 -m 1777 /rootfs/tmp \
 && install -d -o 1000 -g 1000 -m 0750 /rootfs/data

FROM scratch
ARG KUBE_VERSION
ARG VKUBE_VERSION
# One layer per part, least often changed first, as in hack/image.
COPY --from=build /rootfs/ /
COPY --from=build /vkube-cache/kube/${KUBE_VERSION}/kube-apiserver \
                  /vkube-cache/kube/${KUBE_VERSION}/kube-controller-manager \
                  /vkube-cache/kube/${KUBE_VERSION}/kube-scheduler \
                  /usr/local/lib/vkube/kube/${KUBE_VERSION}/
COPY --from=build /src/bin/vkube /src/bin/vkube-hosts /usr/local/bin/
ENV PATH=/usr/local/bin:/usr/bin:/bin TMPDIR=/tmp
WORKDIR /tmp
USER 1000:1000
LABEL org.opencontainers.image.version="${VKUBE_VERSION}-k8s-${KUBE_VERSION}"
ENTRYPOINT ["/usr/local/bin/vkube"]
CMD ["start"]
