# syntax=docker/dockerfile:1
# SecureChat's container image: build everything in one stage, install the server's
# production dependencies in another, and copy only what the server runs into a slim,
# non-root runtime that writes nowhere but DATA_DIR (a volume) and /tmp.
# See README "Deploy" and docs/operations.md "Running in containers".

ARG NODE_IMAGE=node:20-bookworm-slim

# The toolchain for the native SQLite driver (built from source: no prebuilt download).
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local \
    npm_config_build_from_source=true \
    npm_config_audit=false \
    npm_config_fund=false

# Build: every workspace's dependencies, then protocol, sdk, server and the web app.
FROM toolchain AS build
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/sdk/package.json packages/sdk/
COPY packages/server/package.json packages/server/
COPY packages/web/package.json packages/web/
COPY tools/bench/package.json tools/bench/
COPY e2e/package.json e2e/
RUN npm ci
COPY . .
RUN npm run build

# Production dependencies of the server only (and the protocol package it links to).
FROM toolchain AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/sdk/package.json packages/sdk/
COPY packages/server/package.json packages/server/
COPY packages/web/package.json packages/web/
COPY tools/bench/package.json tools/bench/
COPY e2e/package.json e2e/
RUN npm ci --omit=dev --workspace @securechat/server

# The runtime: the same layout as the repository, so the server finds packages/web/dist.
FROM ${NODE_IMAGE} AS runtime
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY packages/protocol/package.json packages/protocol/
COPY packages/server/package.json packages/server/
COPY --from=build /src/packages/protocol/dist packages/protocol/dist
COPY --from=build /src/packages/server/dist packages/server/dist
COPY --from=build /src/packages/web/dist packages/web/dist
# The one writable place (with /tmp): owned by the image's unprivileged "node" user (uid 1000).
RUN mkdir -p /data && chown node:node /data && chmod 700 /data
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data
USER node
VOLUME ["/data"]
EXPOSE 3000
# GET /api/health answers 200 when the server is up and its database answers. Node, not curl:
# the slim image has no curl. Plain HTTP: in a container, TLS ends at the reverse proxy.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/api/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM (docker stop) finishes in-flight requests and closes cleanly.
STOPSIGNAL SIGTERM
CMD ["node", "packages/server/dist/main.js"]
