#!/bin/bash
# Runs the recipe on the cluster kubectl points at: the shared volume, the shards' Indexed Job, a wait
# until every index has completed, then the merge Job. The checkpoints must be on the volume under
# /data/models (base/ and tuned/) before the shards start.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kubectl apply -f "$here/pvc.yaml"
kubectl apply -f "$here/shards-job.yaml"
kubectl wait --for=condition=complete --timeout="${TIMEOUT:-6h}" job/paramscope-diff-shards
kubectl apply -f "$here/merge-job.yaml"
kubectl wait --for=condition=complete --timeout=30m job/paramscope-diff-merge
kubectl logs job/paramscope-diff-merge
