#!/bin/bash
# bounded.sh LIMIT COMMAND... — runs COMMAND, killed after LIMIT seconds of wall time. When it
# ends in time, prints "bounded: exit N after S s" (N: COMMAND's status) on stderr and exits 0;
# when it had to be killed, says so and exits 1, whatever status the test expects of COMMAND.
limit=$1
shift
start=$(date +%s.%N)
timeout -s KILL "$limit" "$@"
rc=$?
took=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
if [ "$rc" -eq 137 ]; then
    echo "bounded: killed after $took s (the limit is $limit s): $*" >&2
    exit 1
fi
echo "bounded: exit $rc after $took s" >&2
