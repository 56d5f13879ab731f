# syntax=docker/dockerfile:1
# One build of the whole workspace, then one small runtime image per binary:
#   docker build --target worker  -t booking-worker  .
#   docker build --target shim    -t booking-shim    .
#   docker build --target starter -t bookings        .
#   docker build --target sandbox -t booking-sandbox .
# docker-compose.yml builds them all. (Not built on the project's machines, which have no
# container engine: scripts/topology proves the same topology with plain processes.)

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS builder
# The Temporal SDK's build runs protoc.
RUN apt-get update \
 && apt-get install -y --no-install-recommends protobuf-compiler \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked \
        -p booking-worker -p booking-shim -p booking-starter -p booking-sandbox \
        --bin booking-worker --bin booking-shim --bin bookings --bin booking-sandbox \
 && mkdir -p /out \
 && cp target/release/booking-worker target/release/booking-shim \
       target/release/bookings target/release/booking-sandbox /out/

# Shared runtime: glibc, CA certificates (rustls verifies provider and Temporal Cloud
# certificates), curl for container healthchecks, and an unprivileged user.
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin bookings
USER 10001
ENV RUST_LOG=info \
    TEMPORAL_ADDRESS=temporal:7233 \
    TEMPORAL_NAMESPACE=default \
    BOOKINGS_TASK_QUEUE=bookings

FROM runtime AS worker
COPY --from=builder /out/booking-worker /usr/local/bin/booking-worker
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/booking-worker"]

FROM runtime AS shim
COPY --from=builder /out/booking-shim /usr/local/bin/booking-shim
ENV SHIM_HOST=0.0.0.0 SHIM_PORT=8090
EXPOSE 8090
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["curl", "-fsS", "http://127.0.0.1:8090/healthz"]
ENTRYPOINT ["/usr/local/bin/booking-shim"]

FROM runtime AS starter
COPY --from=builder /out/bookings /usr/local/bin/bookings
ENTRYPOINT ["/usr/local/bin/bookings"]
CMD ["--help"]

FROM runtime AS sandbox
COPY --from=builder /out/booking-sandbox /usr/local/bin/booking-sandbox
ENV SANDBOX_HOST=0.0.0.0 SANDBOX_PORT=8089
EXPOSE 8089
ENTRYPOINT ["/usr/local/bin/booking-sandbox"]
