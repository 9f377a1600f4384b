#!/bin/bash
# warren-node's entrypoint in its image (docker/README.md), PID 1 only until
# the exec below: warren-node itself then handles SIGTERM.
#
# WARREN_CLUSTER_SECRET_FROM names a secret mounted by Compose or Kubernetes.
# Such a file belongs to root or is readable by a group, and Kubernetes
# reaches it through symlinks; the node accepts only a regular file that its
# own user alone may read (docs/cluster.md). So it is copied at every start
# to DATA_DIR/cluster-secret (0600, the node's), replacing the copy from the
# last start, and the node reads that: a secret rotated by the orchestrator
# takes effect at the next restart.
set -euo pipefail
if [ -n "${WARREN_CLUSTER_SECRET_FROM:-}" ]; then
  data=${WARREN_DATA_DIR:-/var/lib/warren}
  umask 077
  tmp=$(mktemp "$data/.cluster-secret.XXXXXX")
  if ! cat -- "$WARREN_CLUSTER_SECRET_FROM" > "$tmp"; then
    rm -f "$tmp"
    echo "warren-entrypoint: WARREN_CLUSTER_SECRET_FROM=$WARREN_CLUSTER_SECRET_FROM cannot be read" >&2
    exit 2
  fi
  mv -f "$tmp" "$data/cluster-secret"
  export WARREN_CLUSTER_SECRET_FILE=$data/cluster-secret
fi
exec warren-node "$@"
