# The worker image: Node 24 runs the TypeScript sources directly (type stripping).
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY templates ./templates
COPY samples ./samples
USER node
ENTRYPOINT ["node", "bin/ccai-crm-sync.js"]
CMD ["worker"]
