# The worker as a static musl binary in an empty image.
# Builder pinned to the crate's rust-version (Cargo.toml) so the image builds what CI tests.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools nasm \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN cargo build --release --locked --target x86_64-unknown-linux-musl -p arke-image-processor \
 && strip target/x86_64-unknown-linux-musl/release/arke-image-processor

# Nothing but the binary: TLS roots are compiled in (webpki-roots), so no CA bundle is needed.
FROM scratch
COPY --from=build /src/target/x86_64-unknown-linux-musl/release/arke-image-processor /arke-image-processor
USER 65534:65534
ENTRYPOINT ["/arke-image-processor"]
