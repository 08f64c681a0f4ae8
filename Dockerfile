# Ferry worker image (also runs any other `ferry` command). The build runs the same commands as CI:
# `npm ci` and `npm run build` (tsc → dist/ plus the prebuilt workflow bundle dist/workflow-bundle.js).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
RUN mkdir -p /reports && chown node:node /reports
USER node
# Prometheus metrics (SDK + Ferry) when FERRY_METRICS_PORT is set.
EXPOSE 9464
ENTRYPOINT ["bin/ferry"]
CMD ["worker"]
