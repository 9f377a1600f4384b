#!/bin/bash
# Builds Warren's four images and warren-prometheus from docker/Dockerfile
# (docker/README.md):
#   docker/images.sh             compiles inside the build (`make images`)
#   docker/images.sh --prebuilt  copies the executables of a finished
#                                `make build` (build/) instead: what the
#                                end-to-end tests use, as it takes seconds
# Tags warren-node, warren-balancer, warren-mgmt, warren-exporter and
# warren-prometheus (:latest and :VERSION), makes debian:bookworm-slim
# first when it is missing (docker/base-image.sh), and prints each image's
# size.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Debian's docker CLI builds with BuildKit without the buildx plugin.
DOCKER=${DOCKER:-$(command -v /usr/bin/docker || command -v docker)}
export DOCKER DOCKER_BUILDKIT=1
version=$(sed -n 's/^project(warren VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
binaries=built
if [ "${1:-}" = "--prebuilt" ]; then
  binaries=prebuilt
  build=${BUILD:-$root/build}
  stage=$root/build/docker-bin
  rm -rf "$stage"; mkdir -p "$stage"
  for b in broker/warren-node ctl/warrenctl perf/warren-perf balancer/warren-balancer \
           mgmt/warren-mgmt exporter/warren-exporter; do
    [ -x "$build/services/$b" ] || { echo "no $build/services/$b: run make build first" >&2; exit 1; }
    strip -o "$stage/$(basename "$b")" "$build/services/$b"
  done
  # Debian's Prometheus (`make` installs it), for warren-prometheus.
  [ -x /usr/bin/prometheus ] || { echo "no /usr/bin/prometheus: apt-get install prometheus" >&2; exit 1; }
  cp /usr/bin/prometheus "$stage/prometheus"
fi
"$root/docker/base-image.sh" >/dev/null
for target in node balancer mgmt exporter prometheus; do
  "$DOCKER" build -q -f "$root/docker/Dockerfile" --target "$target" \
    --build-arg BINARIES="$binaries" --build-arg VERSION="$version" \
    -t "warren-$target:latest" -t "warren-$target:$version" "$root" >/dev/null
  echo "warren-$target:$version $("$DOCKER" image inspect -f '{{.Size}}' "warren-$target:latest" |
    awk '{printf "%.1f MB", $1 / 1e6}')"
done
