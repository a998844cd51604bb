#!/bin/sh
# Run every benchmark in bench/ (each bench/NAME.sh other than this one and
# lib.sh, the functions they share) and print a summary.
# usage: sh bench/run.sh [BUILD]   (make bench)
#
# A benchmark script exits 0 when it meets all its targets, 1 when it misses
# one, 3 when it cannot run here (skipped, with the reason), anything else
# on an error.  This script exits 1 if any benchmark missed a target or
# failed, 0 otherwise (skipped ones are listed in the summary).
BUILD=${1:-build}
DIR=$(cd "$(dirname "$0")" && pwd)
summary="" status=0
for b in "$DIR"/*.sh; do
    name=$(basename "$b" .sh)
    [ "$name" = run ] || [ "$name" = lib ] && continue     # lib.sh: functions the others source
    echo "==> bench/$name.sh"
    sh "$b" "$BUILD"
    rc=$?
    case $rc in
    0) verdict=PASS ;;
    1) verdict="MISS (a target was missed)"; status=1 ;;
    3) verdict="SKIP (could not run here; see above)" ;;
    *) verdict="ERROR (exit status $rc)"; status=1 ;;
    esac
    summary="$summary
  $name: $verdict"
done
echo
echo "bench summary:$summary"
[ $status = 0 ] && echo "bench: all targets met" || echo "bench: FAILED (see bench/RESULTS.md)"
exit $status
