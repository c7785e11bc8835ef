# The worker image: Node 24 runs the TypeScript sources directly (type stripping).
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
# Bound V8's heap: the worker retains ~50 MB; without limits V8 keeps hundreds of MB of garbage
# under load (see the benchmark in the README).
ENV NODE_OPTIONS="--max-old-space-size=160 --max-semi-space-size=8"
# one or two malloc arenas instead of one per thread: less RSS for the same work (see the README's benchmark)
ENV MALLOC_ARENA_MAX=2
# DATA_DIR and INBOX_DIR of docker-compose.yml, made here and owned by the user the worker runs
# as: a new named volume starts as a copy of the folder it is mounted on, owner included, so
# the worker can write there without running as root.
RUN mkdir -p /data /inbox && chown node:node /data /inbox
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY templates ./templates
COPY samples ./samples
USER node
# The same /healthz that docker-compose.yml publishes: 503 when Redis is down, the worker
# stopped or a mailbox folder is not being read. The start period covers the start-up checks
# (Salesforce login and describe).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.HTTP_PORT || 8080) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "bin/ccai-crm-sync.js"]
CMD ["worker"]
