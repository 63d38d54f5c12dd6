# syntax=docker/dockerfile:1.7
# Lectern: multi-stage image on Debian 12 with Node 24, ffmpeg and a mediasoup worker built from the sources in
# the mediasoup npm tarball against Debian's libraries (the same offline build as scripts/worker/build.sh).

ARG NODE_VERSION=24
FROM node:${NODE_VERSION}-bookworm-slim AS base
ENV LECTERN_CACHE_DIR=/opt/lectern-cache
WORKDIR /app

# ---- worker: build mediasoup-worker offline (meson from bookworm-backports)
FROM base AS worker
RUN echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config ninja-build python3 python3-setuptools \
      libuv1-dev libssl-dev libabsl-dev libsrtp2-dev libflatbuffers-dev flatbuffers-compiler ca-certificates \
 && apt-get install -y --no-install-recommends -t bookworm-backports meson \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
COPY scripts/worker scripts/worker
# build.sh's last line of output is the binary's path (not piped: /bin/sh has no pipefail, a failed build must stop here).
RUN MEDIASOUP_VERSION=$(node -p "require('./package-lock.json').packages['node_modules/mediasoup'].version") \
    bash scripts/worker/build.sh > /tmp/worker-out \
 && install -D "$(tail -n 1 /tmp/worker-out)" /opt/mediasoup/mediasoup-worker

# ---- deps: node modules (mediasoup's postinstall is skipped: the worker comes from the stage above)
FROM base AS deps
COPY package.json package-lock.json ./
COPY app/package.json app/package.json
COPY server/contracts/package.json server/contracts/package.json
RUN MEDIASOUP_WORKER_BIN=/opt/mediasoup/mediasoup-worker npm ci --no-audit --no-fund

# ---- build: the SvelteKit app
FROM deps AS build
COPY . .
RUN cd app && ../node_modules/.bin/vite build

# ---- runtime: only what the server needs (the worker links libuv, OpenSSL and abseil; its libsrtp2 is static)
FROM base AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg libuv1 libssl3 libabsl20220623 tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    LECTERN_DATA_DIR=/data \
    MEDIASOUP_WORKER_BIN=/opt/mediasoup/mediasoup-worker
COPY --from=worker /opt/mediasoup/mediasoup-worker /opt/mediasoup/mediasoup-worker
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/app/build app/build
COPY package.json package-lock.json ./
COPY app/package.json app/package.json
COPY server server
COPY drizzle drizzle
COPY scripts/seed.ts scripts/seed.ts
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# HTTP + Socket.io; WebRTC (one UDP+TCP port per worker from LECTERN_RTC_PORT); PlainTransports stay internal.
EXPOSE 3000 40000-40003/udp 40000-40003/tcp
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "server/main.ts"]
