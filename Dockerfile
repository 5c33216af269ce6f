# syntax=docker/dockerfile:1
# The published bases. Machines that cannot reach their registries build this same file with stand-ins
# (local-cluster/build/image.sh: --build-arg BUILD_BASE=... RUN_BASE=...; README, "The controller's image").
ARG BUILD_BASE=node:24-bookworm-slim
ARG RUN_BASE=gcr.io/distroless/nodejs24-debian12:nonroot

# Build stage: bundle the controller and the packages it uses into one minified ES module (scripts/bundle.ts,
# esbuild). Nothing from node_modules is shipped.
FROM ${BUILD_BASE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/bundle.ts ./scripts/bundle.ts
COPY src ./src
RUN npm run bundle

# Run stage: distroless Node.js 24, no shell and no package manager, numeric non-root user.
# Works with a read-only root filesystem (nothing is written at run time). Node handles SIGTERM itself
# (the controller finishes in-flight calls and releases its lease), so no init process is needed.
# --max-semi-space-size=2: a small V8 young generation; the default keeps ~40 MiB of RSS the controller
# does not need. --optimize-for-size: a heap that grows less and is collected sooner, ~45 MiB less RSS
# after a 10,000-set sync (bench/README.md).
FROM ${RUN_BASE}
WORKDIR /app
# glibc malloc: one arena, and buffers of 64 KiB or more mapped apart and returned when freed; 16 MiB less
# RSS after a 10,000-set sync (local-cluster/controller-process.ts IMAGE_ENV, bench/README.md).
ENV MALLOC_ARENA_MAX=1 MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=65536
COPY --from=build /src/dist/bundle ./
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=2", "--optimize-for-size", "/app/main.mjs"]
CMD ["run"]
