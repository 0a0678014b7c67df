# One image for the operator and its runners: `tokenstorm operator` (the Deployment) and
# `tokenstorm run --in-cluster` (the runner Jobs' pods). Debian bookworm, as the build machine.
# This repository's CI has no container engine, so this file is not built there: build it with
#   docker build -t ghcr.io/tokenstorm/tokenstorm:0.1.0 .
FROM debian:bookworm AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config ca-certificates \
      libcpprest-dev libboost-dev libssl-dev nlohmann-json3-dev libyaml-cpp-dev prometheus-cpp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTOKENSTORM_BUILD_TESTS=OFF \
 && cmake --build /build --target tokenstorm \
 && strip --strip-debug -o /tokenstorm /build/app/tokenstorm

FROM debian:bookworm-slim
# The shared libraries the binary links (ldd app/tokenstorm) and CA certificates for external providers.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libcpprest2.10 libssl3 libyaml-cpp0.7 libprometheus-cpp-core1.0 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 65532 --user-group --no-create-home --shell /usr/sbin/nologin tokenstorm
COPY --from=build /tokenstorm /usr/local/bin/tokenstorm
# Non-root; the pods also run with a read-only root filesystem and an emptyDir at /tmp (docs/operator.md).
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/tokenstorm"]
CMD ["--help"]
