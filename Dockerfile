# syntax=docker/dockerfile:1
#
# agentgate: one image for both planes.
#   control plane (default):  docker run IMAGE                       → node --import tsx control-plane/main.ts
#   proxy (data plane):       docker run IMAGE data-plane/main.ts    → node --import tsx data-plane/main.ts
#
# Nothing secret is baked in: AGENTGATE_PROXY_TOKEN, AGENTGATE_SECRET_KEY, DATABASE_URL
# come from the environment at run time (see deploy/README.md).
# Validated by test/deploy/deploy-files.test.ts (parsed, not built: no Docker engine in CI).

ARG NODE_IMAGE=node:20-bookworm-slim

# ---------------------------------------------------------------------------------------
# build: production node_modules (better-sqlite3 compiled here) + generated Prisma clients
# ---------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# better-sqlite3 falls back to a source build when its prebuilt binary cannot be fetched.
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
# --omit=dev: tsx, prisma and the driver adapters are runtime dependencies; jest, buf,
# typescript and the LangGraph dev server are not shipped. postinstall generates both
# Prisma clients (prisma/sqlite/generated, prisma/postgres/generated).
RUN --mount=type=cache,target=/root/.npm \
    npm ci --omit=dev \
 && test -f prisma/sqlite/generated/client.ts \
 && test -f prisma/postgres/generated/client.ts
COPY tsconfig.json ./
COPY proto/ ./proto/
COPY control-plane/ ./control-plane/
COPY data-plane/ ./data-plane/
COPY deploy/healthcheck.mjs ./deploy/healthcheck.mjs

# ---------------------------------------------------------------------------------------
# runtime: no compiler, no npm cache, sources owned by root and read-only to the app user
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
COPY --from=build /app /app
# Writable state lives in /var/lib/agentgate (AGENTGATE_DATA_DIR): the control plane's
# key file fallback, the proxy's last good snapshot and session spool. Mount a volume
# there (compose: named volumes; Kubernetes: PVC or emptyDir). No VOLUME instruction, so
# no anonymous volumes pile up; tsx also needs a writable /tmp (its compile cache).
USER 10001:10001
# control plane HTTP (GraphQL, /healthz, /readyz), control plane gRPC, proxy HTTP
EXPOSE 4000 4001 8080
# Probes /healthz of whichever plane runs in this container (see deploy/healthcheck.mjs).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "deploy/healthcheck.mjs"]
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["control-plane/main.ts"]
