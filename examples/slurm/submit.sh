#!/bin/bash
# Submits a sharded `paramscope diff`: an array of N shard tasks, then the merge, which waits for all of
# them (afterok: it does not run if any shard failed). Prints the two job ids.
#
#   BASE=/models/llama-70b TUNED=/models/llama-70b-sft OUT=/scratch/$USER/diff N=8 ./submit.sh
#
# Environment: BASE, TUNED, OUT, N (shards, default 4), PARAMSCOPE, PARAMSCOPE_ARGS (passed to the
# tasks), SBATCH_ARGS (more sbatch options for both jobs, e.g. "--partition=cpu --account=proj").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${BASE:?}" "${TUNED:?}" "${OUT:?}"
N=${N:-4}
mkdir -p "$OUT/logs"
export BASE TUNED OUT
# shellcheck disable=SC2086
shards=$(sbatch --parsable --export=ALL ${SBATCH_ARGS:-} --array=0-$((N - 1)) --output="$OUT/logs/shard-%a.log" "$here/paramscope-diff.sbatch")
shards=${shards%%;*} # --parsable prints "id" or "id;cluster"
# shellcheck disable=SC2086
merge=$(sbatch --parsable --export=ALL ${SBATCH_ARGS:-} --dependency=afterok:"$shards" --output="$OUT/logs/merge.log" "$here/paramscope-merge.sbatch")
echo "shards: $shards"
echo "merge: ${merge%%;*}"
