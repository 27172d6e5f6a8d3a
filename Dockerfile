# neon-promote's images, one target each:
#   worker (the default): the worker (`node dist/worker.js`) and the CLI, compiled, with production dependencies only.
#   tools: the Neon emulator and the search-attribute set-up, which live outside the package (tools/) and run from
#          their TypeScript sources through tsx, a dev dependency like the emulator's embedded Postgres.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# npm install, not npm ci: the lockfile omits other platforms' optional binaries (embedded Postgres), which npm ci rejects.
RUN npm install --no-audit --no-fund

FROM deps AS build
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS tools
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY tools ./tools
# Postgres (the emulator's embedded one) refuses to run as root; the node user owns the emulator's data volume.
RUN mkdir /data && chown node:node /data
USER node
# tsx as a loader in one node process, not its CLI (a parent relaying signals): the emulator itself gets the
# container's SIGTERM and stops its Postgres.
CMD ["node", "--import", "tsx", "tools/emulator/main.ts", "--host", "0.0.0.0", "--port", "7800", "--data-dir", "/data"]

FROM node:20-bookworm-slim AS worker
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
USER node
CMD ["node", "dist/worker.js"]
