#!/usr/bin/env bash
# Make sure the image the demo's "default" environment names (runbooks-runner:latest) exists on the
# Docker engine, so command blocks can run right after `make run`. Never fatal: without Docker the
# platform still serves pages, and command steps say "Docker engine not reachable".
set -uo pipefail
IMAGE="runbooks-runner:latest"
here="$(cd "$(dirname "$0")/.." && pwd)"

if ! docker info >/dev/null 2>&1; then
    echo "  Docker engine not reachable: pages work, command blocks will fail until it is (see README)."
    exit 0
fi
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    exit 0
fi
# A static busybox (Debian's busybox-static) gives a tiny FROM-scratch image without any registry.
if [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; then
    "$here/.ci/build-test-images.sh" && exit 0
fi
# Otherwise a registry may be reachable (it is on most laptops).
if docker pull --quiet busybox:stable >/dev/null 2>&1 && docker tag busybox:stable "$IMAGE"; then
    echo "  Built $IMAGE from busybox:stable."
    exit 0
fi
echo "  Could not provide $IMAGE (no static busybox, no registry). Install busybox-static and run"
echo "  .ci/build-test-images.sh, or point the default environment at an image you have."
exit 0
