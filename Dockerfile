# neon-promote: the worker (default command), the Neon emulator and the search-attribute set-up, from one image.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm install, not npm ci: the lockfile omits other platforms' optional binaries (embedded Postgres), which npm ci rejects.
RUN npm install --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# Postgres (the emulator's embedded one) refuses to run as root; the node user owns the emulator's data volume.
RUN mkdir /data && chown node:node /data
USER node
CMD ["node", "dist/worker.js"]
