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
# The shared libraries the three programs load (their ldd closure), each
# under the name it is asked for: the runtime stage copies these instead of
# installing their packages, whose dependency trees carry far more than
# is loaded (1.39 GB image then, 743 MB now: LLVM for Mesa, Mesa's drivers,
# Z3, LibTorch's Python bindings, plugins, data, documentation). Left out: glibc's own libraries (the runtime's glibc
# is the same package), and the CUDA LibTorch's folder, which is copied
# whole because CUDA loads some of its libraries with dlopen. gRPC's root
# certificates come along for clients that use TLS without --tls-ca.
RUN set -eux; \
    mkdir -p /out/lib /out/share/grpc; \
    ldd /out/bin/* | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u | \
    while read -r name path; do \
      case "$name" in \
        libc.so.*|libm.so.*|libdl.so.*|libpthread.so.*|librt.so.*|libresolv.so.*|ld-linux*) continue ;; \
      esac; \
      case "$path" in /opt/libtorch/lib/*) continue ;; esac; \
      cp -L "$path" "/out/lib/$name"; \
    done; \
    cp -L /usr/share/grpc/roots.pem /out/share/grpc/

# ---- runtime stage: only the shared libraries the binaries load ----------
FROM ${BASE} AS runtime
# No -dev or library packages: the libraries come from the build stage (the
# ldd closure above), registered with the dynamic linker. Debian's LibTorch
# links the generic libblas.so.3, which the build stage resolves to OpenBLAS
# (libopenblas0-openmp, 16x faster matmul than the reference BLAS); the
# allocator every binary links is mimalloc (BENCHMARKS.md). tini reaps
# zombies and forwards SIGTERM, which the server answers by draining.
RUN set -eux; \
    apt-get update -q; \
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      tini; \
    rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; \
    useradd --system --uid 10001 --user-group --home-dir /var/lib/lineserve \
      --shell /usr/sbin/nologin lineserve; \
    mkdir -p /var/lib/lineserve/model_repository; \
    chown -R lineserve:lineserve /var/lib/lineserve
COPY --from=build /out/lib/ /usr/local/lib/lineserve/
COPY --from=build /out/share/grpc/ /usr/share/grpc/
RUN echo /usr/local/lib/lineserve > /etc/ld.so.conf.d/lineserve.conf && ldconfig
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
