#!/usr/bin/env bash
# tests/runner/node-tests.sh TILEC_RUN [LIST_FILE] [MIN_PASS] — ONNX's node tests on the runner.
#
# Runs every case of $ONNX_NODE_TESTS (default /usr/share/libonnx-testdata/data/node, Debian's
# libonnx-testdata) as `timeout 30 TILEC_RUN CASE/model.onnx --test-data CASE/test_data_set_N`, for
# every test_data_set_N of the case, two at a time (xargs -P ${NODE_TESTS_JOBS:-2}), and classifies
# each run by its exit status:
#   pass         0
#   fail         1, any other message (the first line of stderr with "error" and the
#                op types of the nodes it lists, else stderr's last line, else stdout's)
#   unsupported  1, the message contains "unsupported" or "not supported" (any case)
#   hang         124 (timeout: over ${NODE_TESTS_TIMEOUT:-30} s) or 137 (killed after the timeout)
#   crash        a signal (>= 128) or any other status (2..123, 125..127)
# Prints the totals and the most frequent failure messages (numbers, quoted names and the case's
# own name folded, so that one message per cause remains), writes one line per run to LIST_FILE
# (default build/node-tests.txt): "STATUS<TAB>CASE/SET<TAB>MESSAGE", sorted by case.
# Exit 1 when anything crashed or hung, or when fewer than MIN_PASS (default 500) runs passed.
# NODE_TESTS_FILTER=REGEX runs only the cases whose name matches (bash =~, extended regex).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if (($# < 1)); then
    echo "usage: node-tests.sh TILEC_RUN [LIST_FILE] [MIN_PASS]" >&2
    exit 2
fi
tilec_run=$(realpath "$1")
list=${2:-$repo/build/node-tests.txt}
min_pass=${3:-500}
data=${ONNX_NODE_TESTS:-/usr/share/libonnx-testdata/data/node}
jobs=${NODE_TESTS_JOBS:-2}
limit=${NODE_TESTS_TIMEOUT:-30}
[[ -x "$tilec_run" ]] || { echo "node-tests: $1 is not an executable" >&2; exit 2; }
[[ -d "$data" ]] || { echo "node-tests: no $data (apt-get install libonnx-testdata)" >&2; exit 2; }
mkdir -p "$(dirname "$list")"

work=$(mktemp -d "${TMPDIR:-/tmp}/tilec-node-tests.XXXXXX")
trap 'rm -rf "$work"' EXIT

# One run: writes "STATUS<TAB>CASE/SET<TAB>MESSAGE" to $work/r/CASE.SET.
run_one() {
    local dir=$1 set=$2 case out err rc status msg
    case=${dir##*/}
    out=$work/o/$case.$set.out
    err=$work/o/$case.$set.err
    # In a subshell whose own stderr is dropped: bash's "Segmentation fault" notes stay out of the output.
    (timeout -k 5 "$limit" "$tilec_run" "$dir/model.onnx" --test-data "$dir/$set" >"$out" 2>"$err" </dev/null
     exit $?) 2>/dev/null
    rc=$?
    # The message: the first "error" line of stderr with the op types of the nodes listed under it
    # ("  node 'n': Op (opset N)"), else stderr's last line, else stdout's.
    msg=$(grep -m 1 -i 'error' "$err")
    if [[ -n "$msg" ]]; then
        local ops
        ops=$(sed -n "s/^  *node '.*': \(.*\)\$/\1/p" "$err" | sort -u | head -n 8 | paste -sd, - | sed 's/,/, /g')
        [[ -n "$ops" ]] && msg="$msg $ops"
    else
        msg=$(grep -v '^[[:space:]]*$' "$err" | tail -n 1)
    fi
    [[ -z "$msg" ]] && msg=$(grep -v '^[[:space:]]*$' "$out" | tail -n 1)
    msg=${msg//$'\t'/ }
    msg=${msg#tilec run: error: }
    msg=${msg//$dir\//}
    msg=${msg:0:300}
    if ((rc == 0)); then
        status=pass msg=
    elif ((rc == 1)); then
        if [[ "${msg,,}" == *unsupported* || "${msg,,}" == *"not supported"* ]]; then status=unsupported; else status=fail; fi
    elif ((rc == 124 || rc == 137)); then
        status=hang msg="timeout after ${limit} s (exit $rc)${msg:+: $msg}"
    elif ((rc > 128)); then
        status=crash msg="signal $((rc - 128)) ($(kill -l $((rc - 128)) 2>/dev/null || echo '?'))${msg:+: $msg}"
    else
        status=crash msg="exit $rc${msg:+: $msg}"
    fi
    printf '%s\t%s\t%s\n' "$status" "$case/$set" "$msg" >"$work/r/$case.$set"
    rm -f "$out" "$err"
}
export -f run_one
export work tilec_run limit
mkdir -p "$work/r" "$work/o"

for dir in "$data"/*/; do
    dir=${dir%/}
    [[ -f "$dir/model.onnx" ]] || continue
    if [[ -n "${NODE_TESTS_FILTER:-}" && ! "${dir##*/}" =~ $NODE_TESTS_FILTER ]]; then continue; fi
    for set in "$dir"/test_data_set_*/; do
        set=${set%/}
        [[ -d "$set" ]] && printf '%s\0%s\0' "$dir" "${set##*/}"
    done
done | xargs -0 -n 2 -P "$jobs" bash -c 'run_one "$1" "$2"' _

cat "$work"/r/* 2>/dev/null | sort -t$'\t' -k2,2 >"$list"
total=$(wc -l <"$list")
count() { awk -F'\t' -v s="$1" '$1 == s' "$list" | wc -l; }
pass=$(count pass) fail=$(count fail) unsup=$(count unsupported) crash=$(count crash) hang=$(count hang)

echo "node tests: $data, $total runs ($(cut -f2 "$list" | cut -d/ -f1 | sort -u | wc -l) cases)"
if ((fail + unsup + crash + hang > 0)); then
    echo
    echo "most frequent messages (count, status, message with numbers and quoted names folded, e.g. case):"
    # Fold what differs between cases: the case's name, quoted names, numbers (not the digits of
    # names such as ReduceL1 or float16).
    awk -F'\t' '$1 != "pass" { c = $2; sub(/\/.*/, "", c); m = $3; gsub(c, "CASE", m); print $1 "\t" c "\t" m }' "$list" |
        sed -E "s/\"[^\"]*\"/\"*\"/g; s/'[^']*'/'*'/g; s/(^|[^A-Za-z0-9_.])[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?/\1N/g" |
        awk -F'\t' '{ key = $1 "\t" $3; n[key]++; if (!(key in ex)) ex[key] = $2 }
            END { for (k in n) { split(k, p, "\t"); printf "%6d  %-11s %s   [e.g. %s]\n", n[k], p[1], p[2], ex[k] } }' |
        sort -k1,1nr -k2,2 | head -n "${NODE_TESTS_TOP:-25}"
fi
if ((crash + hang > 0)); then
    echo
    echo "crashes and hangs:"
    awk -F'\t' '$1 == "crash" || $1 == "hang" { printf "  %-6s %s  %s\n", $1, $2, $3 }' "$list" | head -n 50
fi
echo
printf 'pass %d  fail %d  unsupported %d  crash %d  hang %d  (total %d; per-run list: %s)\n' \
    "$pass" "$fail" "$unsup" "$crash" "$hang" "$total" "$list"
status=0
if ((crash + hang > 0)); then
    echo "node-tests: FAIL: $crash crashes, $hang hangs"
    status=1
fi
if ((pass < min_pass)); then
    echo "node-tests: FAIL: $pass passes, fewer than the $min_pass required"
    status=1
fi
((status == 0)) && echo "node-tests: ok ($pass >= $min_pass passes, no crash or hang)"
exit $status
