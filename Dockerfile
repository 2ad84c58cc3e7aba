# syntax=docker/dockerfile:1
#
# phone-auth: multi-stage build. Needs BuildKit (the default builder in current Docker) for the
# cache mounts below.
#
#   docker build -t phone-auth .
#   docker run --rm -p 50051:50051 -e SECRET_KEY="$(openssl rand -base64 48)" \
#     -e SMS_PROVIDER=webhook -e SMS_WEBHOOK_URL -e SMS_WEBHOOK_SECRET phone-auth
#
# (-e NAME without a value passes NAME on from your shell.) A real sender is required: the
# image listens on 0.0.0.0 (LISTEN_ADDR below), and phone-auth refuses to start the default
# console sender, which hands every code to whoever calls RequestCode, on a non-loopback
# address. SMS_PROVIDER=twilio and smsru work the same way with their own settings
# (.env.sample). Only to try the image on this machine, opt in explicitly and publish on the
# loopback interface alone:
#   docker run --rm -p 127.0.0.1:50051:50051 -e DANGEROUSLY_EXPOSE_DEBUG_CODES=true phone-auth
# For several instances on PostgreSQL and Redis behind a balancer, see docker-compose.yml.

# ---- build ------------------------------------------------------------------------------------
# rust:1 tracks the latest stable release; the crate needs 1.88+ (edition 2024).
FROM rust:1-bookworm AS builder
WORKDIR /app

# No system protoc: build.rs compiles the .proto files with protox (pure Rust).
# migrations/ is embedded into the binary by sqlx::migrate! at compile time.
COPY Cargo.toml Cargo.lock build.rs .env.sample ./
COPY proto ./proto
COPY migrations ./migrations
COPY src ./src

# The registry and target/ live in cache mounts, which are not part of the image layer, so the
# binary is copied out of target/ within the same RUN.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/app/target \
    cargo build --release --locked --bin phone-auth \
    && install -m 0755 target/release/phone-auth /usr/local/bin/phone-auth

# ---- runtime ----------------------------------------------------------------------------------
FROM debian:bookworm-slim

# Unpinned on purpose: Debian stable replaces a package's version with each security update
# and drops the old one, so a pinned ca-certificates would break the build; the release is
# pinned by the base image tag, and a rebuild should take the newest root certificates.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# An unprivileged user; /data is its working directory, where the default SQLite database
# (DATABASE_URL=sqlite://phone-auth.db?mode=rwc, plus its -wal/-shm files) is created.
# Mount a volume on /data to keep that database across container restarts.
RUN groupadd --system --gid 10001 phoneauth \
    && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin phoneauth \
    && mkdir -p /data \
    && chown 10001:10001 /data

COPY --from=builder /usr/local/bin/phone-auth /usr/local/bin/phone-auth

WORKDIR /data
# The binary's own default is 127.0.0.1:50051, which is unreachable from outside a container.
# On this address the console sender needs DANGEROUSLY_EXPOSE_DEBUG_CODES=true (see the top).
ENV LISTEN_ADDR=0.0.0.0:50051
EXPOSE 50051

# The binary asks its own grpc.health.v1 service: exit 0 only while AuthService is SERVING
# (NOT_SERVING while PostgreSQL or Redis is down, or while draining after SIGTERM).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/phone-auth", "healthcheck"]

USER 10001
# SIGTERM (docker stop) flips health to NOT_SERVING and drains calls in flight before exit.
ENTRYPOINT ["/usr/local/bin/phone-auth"]
