# Multi-stage build: compile with the Rust toolchain, run on a small Debian
# image as a non-root user. No protoc needed (protox compiles the protos).
#   docker build -t oauth-registry .
#   docker run -p 50051:50051 -p 8080:8080 -v registry-data:/data oauth-registry
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin oauth-registry \
 && strip target/release/oauth-registry

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data registry \
 && mkdir -p /data && chown registry /data
COPY --from=build /src/target/release/oauth-registry /usr/local/bin/oauth-registry
USER registry
WORKDIR /data
ENV DATABASE_URL=sqlite:///data/oauth-registry.db \
    OAUTH_REGISTRY_GRPC_ADDR=0.0.0.0:50051 \
    OAUTH_REGISTRY_REST_ADDR=0.0.0.0:8080 \
    OAUTH_REGISTRY_LOG_FORMAT=json
VOLUME ["/data"]
EXPOSE 50051 8080
# The binary asks its own grpc.health.v1 service: no extra probe in the image.
# "" is readiness (follows the database); `--service liveness` does not.
# On SIGTERM the server stays up for OAUTH_REGISTRY_SHUTDOWN_DELAY_SECS (5,
# for Kubernetes endpoint removal), then drains: `docker stop` waits 10 s.
# scripts/image-smoke.sh runs this layout, user and ENV without an engine.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["oauth-registry", "healthcheck", "--addr", "http://127.0.0.1:50051"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["oauth-registry"]
CMD ["serve"]
