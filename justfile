# arke-image-processor — `just` lists the recipes.

default:
    @just --list

# Release build of the worker (LTO, stripped).
build:
    cargo build --release -p arke-image-processor

# The test suite (what CI runs after fmt and clippy).
test:
    cargo test --workspace

# A full local job: local S3 (or R2_ENDPOINT + keys), CDN and orchestrator; report + HTML page.
# The same as `cargo smoke ARGS` (which needs no `just`); builds the release worker first.
smoke *ARGS:
    cargo smoke {{ARGS}}

# The failure demo: the CDN answers 500; passes only if the worker ran, exited 1 and sent one
# error callback with cdn_upload_failed (fails when the worker is missing or succeeds).
smoke-fail *ARGS:
    cargo smoke --cdn-fail 500 --out smoke-out-fail {{ARGS}}

# Starts the local stack with a photo in staging and prints the environment for a hand-run
# worker (`cargo stack --photo FILE`); Ctrl-C or SIGTERM stops it.
stack *ARGS:
    exec cargo stack {{ARGS}}

# MinIO in Docker for `just smoke` against a real S3 implementation (needs a Docker engine).
minio:
    docker run -d --rm --name arke-minio -p 9000:9000 -e MINIO_ROOT_USER=minioadmin -e MINIO_ROOT_PASSWORD=minioadmin minio/minio server /data
    sleep 3
    docker exec arke-minio sh -c 'mc alias set local http://localhost:9000 minioadmin minioadmin && mc mb -p local/arke-staging local/arke-archive'
    @echo 'export R2_ENDPOINT=http://localhost:9000 R2_ACCESS_KEY_ID=minioadmin R2_SECRET_ACCESS_KEY=minioadmin; just smoke'

# Regenerates the synthetic fixtures in testdata/.
fixtures:
    cargo run -q -p arke-stack -- fixtures testdata

# What CI runs.
ci:
    bash .ci/run

# Image stage against SPEC.md's sharp reference on real photos (or a folder given as argument):
# time, peak RSS, bytes and SSIM ratios. Installs numpy, Pillow and sharp by itself.
bench *ARGS: build
    python3 bench/bench.py {{ARGS}}

# The release worker that `just build` makes (CARGO_TARGET_DIR honoured); override with
# `just worker=PATH corpus DIR`.
worker := env("CARGO_TARGET_DIR", "target") / "release" / "arke-image-processor"

# Image stage over every JPEG/PNG/WebP under DIR: verdict, time, peak RSS, variants (bench/corpus.py).
corpus DIR *ARGS: build
    python3 bench/corpus.py --bin {{worker}} "{{DIR}}" {{ARGS}}

# Memory envelope: peak RSS on worst-case inputs at the limits vs 1.5 GiB (bench/envelope.py).
envelope *ARGS: build
    python3 bench/envelope.py --bin {{worker}} {{ARGS}}

# Static musl release binary: static, ≤ 14,000,000 bytes, works in an empty root (as in the scratch image).
build-musl:
    bash .ci/musl-check

# The container image, built locally (needs a Docker engine).
docker:
    docker build -t registry.fly.io/arke-image-processor:latest .

# Builds and pushes registry.fly.io/arke-image-processor:latest (needs flyctl and a login).
deploy:
    fly deploy --build-only --push --image-label latest
