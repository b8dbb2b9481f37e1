# Every Switchboard image, one stage per service (docker-compose.yml picks them with `target:`).
# The npm dependencies are installed once, in `deps`, and shared by every image as one layer;
# `docker build --target signaling .` builds one image alone.

# --- mediasoup's worker: the official prebuilt one when GitHub answers, else built from source
# against Debian's libraries (services/media/scripts/build-worker.sh, needs only Debian and npm).
FROM node:20-bookworm-slim AS worker
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY scripts/lib.sh scripts/
COPY services/media/package.json services/media/
COPY services/media/scripts/build-worker.sh services/media/scripts/
RUN SWITCHBOARD_CACHE=/build bash services/media/scripts/build-worker.sh \
  && install -D -m755 /build/mediasoup-worker/*/bin/mediasoup-worker /out/mediasoup-worker \
  && rm -rf /build /var/lib/apt/lists/*

# --- npm dependencies (rebuilt only when a package.json or the lockfile changes), with the tools
# native addons build with (argon2); the service images get the result, not the tools.
FROM node:20-bookworm-slim AS deps
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV MEDIASOUP_SKIP_WORKER_PREBUILT_DOWNLOAD=true MEDIASOUP_WORKER_BIN=/usr/local/bin/mediasoup-worker
COPY package.json package-lock.json ./
COPY common/auth/package.json common/auth/
COPY common/config/package.json common/config/
COPY common/consul/package.json common/consul/
COPY common/db/package.json common/db/
COPY common/errors/package.json common/errors/
COPY common/logger/package.json common/logger/
COPY common/metrics/package.json common/metrics/
COPY common/proto/package.json common/proto/
COPY common/protocol/package.json common/protocol/
COPY common/events/package.json common/events/
COPY common/rooms/package.json common/rooms/
COPY common/runtime/package.json common/runtime/
COPY common/testing/package.json common/testing/
COPY services/events/package.json services/events/
COPY services/gateway/package.json services/gateway/
COPY services/media/package.json services/media/
COPY services/signaling/package.json services/signaling/
COPY ui/package.json ui/
COPY log-viewer/package.json log-viewer/
# `npm ci` refuses a lockfile without other platforms' optional packages (written by registry
# mirrors that carry only linux builds); `npm install` then installs the same locked versions.
RUN (npm ci --no-audit --no-fund || npm install --no-audit --no-fund) && npm cache clean --force

# --- the dependencies and the sources, shared by every service image
FROM node:20-bookworm-slim AS app
WORKDIR /app
ENV NEXT_TELEMETRY_DISABLED=1 MEDIASOUP_WORKER_BIN=/usr/local/bin/mediasoup-worker
COPY --from=deps /app /app
COPY . .
# Every image runs as the base image's unprivileged `node` user (uid 1000); the directories it
# writes to start owned by it (a new named volume copies that ownership).
RUN mkdir -p /var/log/switchboard && chown node:node /var/log/switchboard
ENV NODE_ENV=production

FROM app AS media
USER root
# The worker built from source links Debian's libraries (the prebuilt one needs none of them).
RUN apt-get update && apt-get install -y --no-install-recommends libuv1 libsrtp2-1 libusrsctp2 \
  libssl3 libabsl20220623 && rm -rf /var/lib/apt/lists/*
COPY --from=worker /out/mediasoup-worker /usr/local/bin/mediasoup-worker
USER node
EXPOSE 50051 9101 40000-40100/udp 40000-40100/tcp
CMD ["node", "--import", "tsx", "services/media/src/server.ts"]

FROM app AS signaling
USER node
EXPOSE 4100
CMD ["node", "--import", "tsx", "services/signaling/src/server.ts"]

FROM app AS gateway
USER node
EXPOSE 4000
CMD ["node", "--import", "tsx", "services/gateway/src/server.ts"]

FROM app AS events
USER node
EXPOSE 4300
CMD ["node", "--import", "tsx", "services/events/src/server.ts"]

FROM app AS log-viewer
USER node
EXPOSE 4200
CMD ["node", "--import", "tsx", "log-viewer/src/server.ts"]

FROM app AS ui
RUN cd ui && npx next build && chown -R node:node .next
USER node
EXPOSE 3000
CMD ["node", "--import", "tsx", "ui/src/server.ts"]

# Compose's one-shot job: Consul's ACL policies and each component's token (consul/acl-setup.ts).
FROM app AS consul-acl
USER node
CMD ["node", "--import", "tsx", "consul/acl-setup.ts"]

FROM app AS nginx
USER root
RUN apt-get update && apt-get install -y --no-install-recommends nginx openssl && rm -rf /var/lib/apt/lists/* \
  && mkdir -p /var/lib/switchboard-nginx && chown node:node /var/lib/switchboard-nginx
USER node
EXPOSE 8080 8443
CMD ["node", "--import", "tsx", "nginx/entrypoint.ts"]
