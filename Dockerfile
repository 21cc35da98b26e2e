# syntax=docker/dockerfile:1
#
# agentgate: one image for both planes, compiled by `npm run build` (tsc type-checks it).
#   control plane (default):  docker run IMAGE                            → node dist/control-plane/main.js
#   proxy (data plane):       docker run IMAGE dist/data-plane/main.js    → node dist/data-plane/main.js
#
# Nothing secret is baked in: AGENTGATE_PROXY_TOKEN, AGENTGATE_SECRET_KEY, DATABASE_URL
# come from the environment at run time (see deploy/README.md).
# Validated by test/deploy/deploy-files.test.ts (parsed, not built: no Docker engine in CI).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------
# build: all dependencies (tsc, Prisma CLI), generated Prisma clients, `npm run build`
# (type-checks and compiles to dist/), then the dev dependencies are pruned away
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 and re2 fall back to a source build when a prebuilt binary cannot be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# No calls home from the Prisma CLI during generation (DESIGN.md §9).
ENV CHECKPOINT_DISABLE=1 \
    PRISMA_HIDE_UPDATE_MESSAGE=1 \
    npm_config_audit=false \
    npm_config_fund=false \
    npm_config_update_notifier=false
# Only what `npm ci` and its postinstall (node prisma/generate.mjs) need, so the slow
# dependency layer is rebuilt only when the lockfile or the Prisma schema changes.
# prisma/*/prisma.config.ts imports prisma/cli-adapters.ts, which imports database-url.ts.
COPY package.json package-lock.json ./
COPY prisma/ ./prisma/
COPY control-plane/store/database-url.ts ./control-plane/store/database-url.ts
# postinstall generates both Prisma clients (prisma/sqlite/generated, prisma/postgres/generated).
RUN --mount=type=cache,target=/root/.npm \
    npm ci \
 && test -f prisma/sqlite/generated/client.ts \
 && test -f prisma/postgres/generated/client.ts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs ./scripts/build.mjs
COPY proto/ ./proto/
COPY common/ ./common/
COPY control-plane/ ./control-plane/
COPY data-plane/ ./data-plane/
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs
# tsc type-checks while it compiles: a type error fails the image build; the build also
# bundles the web console's pages (Vite, control-plane/console/web → console/build). Then only the
# production dependencies stay (no tsx, esbuild, TypeScript or Prisma CLI at run time).
RUN npm run build \
 && npm prune --omit=dev \
 && test -f dist/control-plane/main.js \
 && test -f dist/data-plane/main.js \
 && test -f dist/control-plane/console/build/index.html

# ---------------------------------------------------------------------------------------
# runtime: compiled code and production dependencies only, owned by root, read-only to the app user
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    AGENTGATE_DATA_DIR=/var/lib/agentgate \
    AGENTGATE_CP_HOST=0.0.0.0 \
    AGENTGATE_PROXY_HOST=0.0.0.0
WORKDIR /app
# Fixed numeric ids so Kubernetes can verify runAsNonRoot and fsGroup matches.
RUN groupadd --system --gid 10001 agentgate \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/agentgate --no-create-home --shell /usr/sbin/nologin agentgate \
 && mkdir -p /var/lib/agentgate \
 && chown 10001:10001 /var/lib/agentgate \
 && chmod 0700 /var/lib/agentgate
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/deploy/healthcheck.mjs ./deploy/healthcheck.mjs
# Writable state lives in /var/lib/agentgate (AGENTGATE_DATA_DIR): the control plane's
# key file fallback, the proxy's last good snapshot and session spool. Mount a volume
# there (compose: named volumes; Kubernetes: PVC or emptyDir). No VOLUME instruction, so
# no anonymous volumes pile up.
USER 10001:10001
# control plane HTTP (GraphQL, /healthz, /readyz), control plane gRPC, proxy HTTP
EXPOSE 4000 4001 8080
# Probes /healthz of whichever plane runs in this container (see deploy/healthcheck.mjs).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "deploy/healthcheck.mjs"]
ENTRYPOINT ["node", "--enable-source-maps"]
CMD ["dist/control-plane/main.js"]
