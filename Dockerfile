# The shop in a container: one image with the release binary and the built storefront + admin.
#
#   docker build -t shop .
#   docker run -d -p 127.0.0.1:8080:8080 -v shop-data:/data --env-file shop.env shop
#
# compose.yaml runs it with PostgreSQL; docs/DEPLOY.md ("Docker") says which settings to give it.
# backend/tests/deploy_files.rs checks this file against the repository (every COPY source
# exists, the final stage takes what the build writes, it runs as a non-root user).

# --- build: the release binary (target/release/shop) and the frontend (dist/) ---------------
# Debian 12, like the final stage, so the binary links against the same glibc. Cargo.toml says
# rust-version 1.88, but the locked dependencies need a newer compiler (uuid 1.29 wants 1.89);
# the project is built and tested with 1.95.
FROM rust:1.95-bookworm AS build

# What scripts/build-frontend.sh needs beyond Rust: wasm-opt (Debian's binaryen 108, the version
# the build is made for), brotli, python3 (scripts/wasm-drop-section.py) and Node.js with npm
# for esbuild (Debian 12's Node 18 is enough for it; Node 20 is only for the browser tests).
RUN apt-get update \
    && apt-get install -y --no-install-recommends binaryen brotli python3 nodejs npm \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src

# The wasm32 target in a layer of its own (the wasm post-link steps are tools/wasm-build, built
# with the workspace below).
COPY scripts/install-frontend-tools.sh scripts/
RUN ./scripts/install-frontend-tools.sh

# esbuild, pinned by the lock file (frontend/node_modules is left out of the context, so the
# copy of frontend/ below keeps what npm installs here).
COPY frontend/package.json frontend/package-lock.json frontend/
RUN cd frontend && npm ci --no-audit --no-fund --loglevel=error

# The workspace, laid out as in the repository (the scripts find everything from its root).
COPY Cargo.toml Cargo.lock Trunk.toml ./
COPY shared shared
COPY backend backend
COPY frontend frontend
COPY tools tools
COPY migrations migrations
COPY scripts scripts

# The migrations are compiled into the binary (sqlx::migrate! in backend/src/db.rs), so the
# binary and dist/ are all the final stage needs.
RUN cargo build --release -p shop && ./scripts/build-frontend.sh

# --- run ---------------------------------------------------------------------------------------
FROM debian:bookworm-slim

# The shop talks https to Telegram and the payment providers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --user-group --uid 10001 --home-dir /data --shell /usr/sbin/nologin shop \
    && install -d -o shop -g shop -m 750 /data /data/media

COPY --from=build /src/target/release/shop /usr/local/bin/shop
COPY --from=build /src/dist /app/dist

# Defaults for a container; everything else (PUBLIC_URL, TELEGRAM_BOT_TOKEN, providers, …) comes
# from the environment. BIND_ADDR listens on every interface of the container: publish the port
# on the host's loopback and put the TLS proxy in front (docs/DEPLOY.md).
ENV BIND_ADDR=0.0.0.0:8080 \
    DATABASE_URL=sqlite:///data/shop.db \
    MEDIA_DIR=/data/media \
    DIST_DIR=/app/dist

# The SQLite database (when DATABASE_URL is not PostgreSQL) and uploaded images.
VOLUME /data
WORKDIR /data
USER shop
EXPOSE 8080

# The slim image has no curl: bash asks GET /healthz itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '\"ok\"' <&3"]

# Arguments go to the shop, as on a server: `docker run --rm … <image> check`,
# `… <image> backup /data/backup.db`, `… <image> admin reset-password <email>`.
ENTRYPOINT ["/usr/local/bin/shop"]
