#!/usr/bin/env bash
# Build the local images command steps and tests run in. No registry is reachable, so nothing is
# pulled: a FROM-scratch image holding only Debian's static busybox (package busybox-static).
# Tagged runbooks-test-busybox:latest (tests) and runbooks-runner:latest (the demo environment).
set -euo pipefail

BUSYBOX="${BUSYBOX:-/bin/busybox}"
if ! "$BUSYBOX" --help >/dev/null 2>&1; then
    echo "build-test-images: no usable $BUSYBOX (install busybox-static)" >&2
    exit 1
fi
if ldd "$BUSYBOX" >/dev/null 2>&1; then
    echo "build-test-images: $BUSYBOX is dynamically linked; a FROM scratch image needs busybox-static" >&2
    exit 1
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$BUSYBOX" "$context/busybox"
cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
DOCKERFILE

docker build --quiet -t runbooks-test-busybox:latest -t runbooks-runner:latest "$context"
docker run --rm --network none runbooks-test-busybox:latest sh -c 'echo "build-test-images: $(busybox | head -1)"'
