# syntax=docker/dockerfile:1
# One image for both roles of taskwire: `taskwire master` and `taskwire worker`.
# Built by scripts/build.sh; run by stack.yml. Multi-stage: the compilers needed
# for better-sqlite3 stay in the build stages; the runtime is node:24-slim with
# production dependencies only, running as the unprivileged `node` user.
ARG NODE_IMAGE=node:24-slim

# ---- build: full dependencies, compile TypeScript and the web client ----
FROM ${NODE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
# --ignore-scripts: the root `prepare` script would build before the sources are
# here; better-sqlite3 is then compiled explicitly (from source, no download).
RUN npm ci --ignore-scripts --no-audit --no-fund \
 && npm rebuild better-sqlite3
# Sources (what .dockerignore lets through): tsconfig*, proto, common, master,
# worker, cli, bench, web, scripts.
COPY . .
RUN npm run build

# ---- prod-deps: production node_modules with the compiled better-sqlite3 ----
FROM ${NODE_IMAGE} AS prod-deps
# Set by BuildKit (amd64, arm64): keep only this platform's ONNX Runtime binaries
# (the package ships darwin, win32 and both Linux architectures: ~290 MB -> ~70 MB).
ARG TARGETARCH
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && arch=x64 && if [ "${TARGETARCH:-amd64}" = arm64 ]; then arch=arm64; fi \
 && for d in node_modules/onnxruntime-node/bin/napi-v*; do \
      [ -d "$d" ] || continue; \
      rm -rf "$d/darwin" "$d/win32"; \
      for a in "$d"/linux/*; do [ "${a##*/}" = "$arch" ] || rm -rf "$a"; done; \
    done
COPY --from=build /src/node_modules/better-sqlite3/build ./node_modules/better-sqlite3/build

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
LABEL org.opencontainers.image.title="taskwire" \
      org.opencontainers.image.description="taskwire master and worker (one image, two roles)" \
      org.opencontainers.image.licenses="MIT"
# No TASKWIRE_HEALTH_FILE here: with it set, the bare `taskwire health` of the
# master would check a worker's health file instead of /healthz.
ENV NODE_ENV=production \
    TASKWIRE_DATA_DIR=/data
WORKDIR /app
COPY --from=prod-deps /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY proto ./proto
COPY package.json ./
# The end-to-end check of scripts/verify.sh, runnable inside the stack's network.
COPY scripts/verify-e2e.mjs ./scripts/verify-e2e.mjs
RUN mkdir -p /data /app/models && chown node:node /data /app/models
USER node
VOLUME ["/data"]
# HTTP + Socket.IO, gRPC ResultService, embedded MQTT (unused with an external broker).
EXPOSE 8080 50051 1883
# Asks the process itself: the master's /healthz. Worker services override it
# with `taskwire health --file /tmp/taskwire-worker.health` (see stack.yml).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "dist/cli/taskwire.js", "health"]
# Node runs as PID 1 and handles SIGTERM itself (graceful drain); stop_grace_period
# in stack.yml bounds it.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "dist/cli/taskwire.js"]
CMD ["master"]
