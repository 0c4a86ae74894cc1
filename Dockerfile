# lineserve image: lineserve-server (default command), lineserve-train and
# lineserve-cli on a slim Debian bookworm runtime.
#
#   docker build --network host -t lineserve:dev .
#   docker run --rm --network host -v lineserve-models:/var/lib/lineserve \
#       lineserve:dev lineserve-train datagen --out /var/lib/lineserve/data
#   docker run --rm --network host -v lineserve-models:/var/lib/lineserve lineserve:dev
#
# No registry reachable? ../shared/CONTAINERS.md (and deploy/test-image.sh)
# make debian:bookworm-slim locally with debootstrap.
#
# CUDA variant (not buildable on the CPU-only build machines; untested):
#   docker build -t lineserve:cuda \
#     --build-arg LIBTORCH_URL=https://download.pytorch.org/libtorch/cu117/libtorch-cxx11-abi-shared-with-deps-1.13.1%2Bcu117.zip \
#     --build-arg EXTRA_BUILD_PACKAGES="nvidia-cuda-toolkit" \
#     --build-arg APT_COMPONENTS="main contrib non-free" .
# LibTorch's own CUDA build (same 1.13.1 API the code targets, C++11 ABI like
# Debian's) is unpacked to /opt/libtorch and found before Debian's CPU
# LibTorch; its "with-deps" zip carries the CUDA runtime, cuBLAS and cuDNN,
# which the runtime stage copies along. LibTorch's CMake package needs the
# CUDA toolkit at configure time (Debian's nvidia-cuda-toolkit, non-free).
# The NVIDIA driver comes from the host: run with `--gpus all` (NVIDIA
# Container Toolkit) and `-e LINESERVE_DEVICE=cuda:0`. BASE may name any Debian
# bookworm-derived image (the Debian package names below must resolve).

ARG BASE=debian:bookworm-slim

# ---- build stage: compilers and the -dev packages ------------------------
FROM ${BASE} AS build
ARG LIBTORCH_URL=""
ARG EXTRA_BUILD_PACKAGES=""
ARG APT_COMPONENTS="main"
ARG JOBS=""
# Same package list as a developer machine: one script, one truth.
COPY deploy/scripts/install-deps.sh /tmp/install-deps.sh
RUN set -eux; \
    if [ "$APT_COMPONENTS" != "main" ]; then \
      echo "deb http://deb.debian.org/debian bookworm $APT_COMPONENTS" \
        > /etc/apt/sources.list.d/components.list; \
    fi; \
    LINESERVE_DEPS_PROFILE=build /tmp/install-deps.sh; \
    if [ -n "$EXTRA_BUILD_PACKAGES" ] || [ -n "$LIBTORCH_URL" ]; then \
      apt-get update -q; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        $EXTRA_BUILD_PACKAGES ${LIBTORCH_URL:+curl ca-certificates unzip}; \
    fi; \
    rm -rf /var/lib/apt/lists/*
RUN set -eux; mkdir -p /opt/libtorch/lib; \
    if [ -n "$LIBTORCH_URL" ]; then \
      curl -fsSL -o /tmp/libtorch.zip "$LIBTORCH_URL"; \
      unzip -q /tmp/libtorch.zip -d /opt; rm /tmp/libtorch.zip; \
    fi
WORKDIR /src
# Only what the build reads (tests are off): edits to docs, tests or deploy
# files keep the compile layer cached.
COPY CMakeLists.txt CMakePresets.json ./
COPY deploy/scripts/build.sh deploy/scripts/
COPY proto proto
COPY server server
COPY models models
COPY client client
# CCACHE_DISABLE: no compiler cache survives between image builds.
RUN set -eux; \
    extra=""; \
    if [ -n "$LIBTORCH_URL" ]; then \
      extra="-DCMAKE_PREFIX_PATH=/opt/libtorch -DLINESERVE_WITH_CUDA=ON"; \
    fi; \
    CCACHE_DISABLE=1 BUILD_DIR=/build BUILD_TYPE=Release JOBS="${JOBS:-$(nproc)}" \
      deploy/scripts/build.sh -DLINESERVE_BUILD_TESTS=OFF $extra; \
    mkdir -p /out/bin; \
    cp /build/server/lineserve-server /build/client/lineserve-cli \
       /build/models/lineserve-train /out/bin/; \
    strip --strip-debug /out/bin/*

# ---- runtime stage: only the shared libraries the binaries load ----------
FROM ${BASE} AS runtime
# libopenblas0-openmp: Debian's LibTorch links the generic libblas.so.3, and
# with this installed the alternatives point it at OpenBLAS (16x faster
# matmul than the reference BLAS). The rest are the runtime halves of the
# -dev packages (checked with ldd on the three binaries; libmimalloc2.0 is
# the allocator every binary links, see BENCHMARKS.md); tini reaps zombies
# and forwards SIGTERM, which the server answers by draining.
RUN set -eux; \
    apt-get update -q; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      libtorch1.13 libopenblas0-openmp \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libmicrohttpd12 \
      libjpeg62-turbo libpng16-16 zlib1g libmimalloc2.0 tini; \
    rm -rf /var/lib/apt/lists/*; \
    useradd --system --uid 10001 --user-group --home-dir /var/lib/lineserve \
      --shell /usr/sbin/nologin lineserve; \
    mkdir -p /var/lib/lineserve/model_repository; \
    chown -R lineserve:lineserve /var/lib/lineserve
COPY --from=build /opt/libtorch/lib/ /opt/libtorch/lib/
COPY --from=build /out/bin/ /usr/local/bin/
# Empty on the CPU image; the CUDA LibTorch's libraries on the CUDA one.
ENV LD_LIBRARY_PATH=/opt/libtorch/lib

USER 10001:10001
WORKDIR /var/lib/lineserve
# Models (and the trainer's data) live here: mount a volume or a host folder.
VOLUME ["/var/lib/lineserve"]
# 8500 gRPC (lineserve.v1, Open Inference Protocol v2, grpc.health.v1;
# reflection only with --grpc-reflection), 8501 HTTP (Open Inference Protocol
# REST, /metrics), 8502 GET /metrics. Every interface: the published ports
# are the boundary (README "Security": --tls-cert/--tls-key/--tls-client-ca).
EXPOSE 8500 8501 8502
# grpc.health.v1 Check of the overall status over loopback: SERVING only
# while every model has a ready version (readiness), so the container turns
# unhealthy when a model cannot serve, and during the SIGTERM drain. Model
# loading and warm-up take a few seconds.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["lineserve-cli", "health", "--server", "127.0.0.1:8500", "--timeout", "4"]
# Settings as LINESERVE_* variables (lineserve-server --help lists them);
# `docker run -e LINESERVE_DEVICE=cuda` or a flag after the image name
# overrides one.
ENV LINESERVE_MODEL_REPOSITORY=/var/lib/lineserve/model_repository \
    LINESERVE_GRPC_ADDRESS=0.0.0.0:8500 \
    LINESERVE_HTTP_ADDRESS=0.0.0.0:8501
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["lineserve-server"]
