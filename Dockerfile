# The worker image: Node 24 runs the TypeScript sources directly (type stripping).
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
# Bound V8's heap: the worker retains ~50 MB; without limits V8 keeps hundreds of MB of garbage
# under load (see the benchmark in the README).
ENV NODE_OPTIONS="--max-old-space-size=160 --max-semi-space-size=8"
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY templates ./templates
COPY samples ./samples
USER node
ENTRYPOINT ["node", "bin/ccai-crm-sync.js"]
CMD ["worker"]
