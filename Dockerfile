# dr-bot image: build the TypeScript in one stage, run the compiled JavaScript as a non-root user.
# Build: docker build -t dr-bot .
# Run:   docker run -p 3000:3000 -v $PWD/dr.config.yaml:/app/dr.config.yaml:ro \
#          -e REDIS_URL -e SLACK_BOT_TOKEN -e SLACK_SIGNING_SECRET -e DR_PG_PRIMARY_URL ... dr-bot

FROM node:22-slim AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22-slim AS runtime
# tini as PID 1: it forwards SIGTERM to the bot (a graceful stop releases the instance lease) and
# reaps the operator commands the bot runs (resync, fence, integration tests) once they exit.
RUN apt-get update && apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PORT=3000 \
    DR_CONFIG=/app/dr.config.yaml
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /build/dist ./dist
COPY bin ./bin
COPY dr.config.example.yaml manifest.yml ./
COPY deploy ./deploy
USER node
EXPOSE 3000
# node:22-slim has no curl: probe /healthz (bot up and its state Redis answering) with node itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "bin/dr.js"]
CMD ["start"]
