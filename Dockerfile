# lineserve images. Base images come from Debian bookworm; where no registry
# is reachable, ../shared/CONTAINERS.md says how to make debian:bookworm-slim
# locally with debootstrap.
#
#   docker build -t lineserve:dev .
#   docker run --rm -v $PWD/var:/var/lib/lineserve lineserve:dev \
#       lineserve-train datagen --out /var/lib/lineserve/data

# ---- build stage: compilers and the -dev packages -------------------------
FROM debian:bookworm-slim AS build
COPY deploy/scripts/install-deps.sh /tmp/install-deps.sh
RUN /tmp/install-deps.sh && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN BUILD_DIR=/build deploy/scripts/build.sh -DLINESERVE_BUILD_TESTS=OFF \
 && mkdir -p /out/bin \
 && cp /build/models/lineserve-train /build/server/lineserve-server \
       /build/client/lineserve-cli /out/bin/

# ---- runtime stage: only the shared libraries the binaries need ----------
FROM debian:bookworm-slim AS runtime
# libopenblas0-openmp makes LibTorch's generic BLAS fast (16x on a 1024^2
# matmul here); the rest are the runtime halves of the -dev packages.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libtorch1.13 libopenblas0-openmp libgrpc++1.51 libprotobuf32 \
      libabsl20220623 libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 \
      libjpeg62-turbo libpng16-16 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/lineserve lineserve \
 && mkdir -p /var/lib/lineserve && chown lineserve /var/lib/lineserve
COPY --from=build /out/bin/ /usr/local/bin/
USER lineserve
WORKDIR /var/lib/lineserve
VOLUME ["/var/lib/lineserve"]
CMD ["lineserve-train", "--help"]
