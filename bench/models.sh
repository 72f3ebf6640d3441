#!/usr/bin/env bash
# bench/models.sh — `tilec run` against ONNX Runtime on whole models, in the same run, on the
# same inputs, on 1 and 2 threads:
#   bench/models.sh [--smoke] [--runs N] [--threads "1 2"] [--tilec-run PATH] [--no-aot] [--models "det rec cls superres_op17"]
# Models and inputs: tests/runner/fetch-models.sh (cached in $TILEC_MODELS_DIR, default
# build/models) and tests/runner/make_inputs.py: PP-OCRv4 det 1x3x640x640, rec 1x3x48x320, the
# v2.0 direction classifier 1x3x48x192, the tutorial super-resolution CNN (opset 17) 1x1x224x224.
# tilec: `tilec-run MODEL --input x=FILE --threads N --bench RUNS` (its median and min after a
# warm-up); ORT: tests/runner/ort_run.js (onnxruntime-node, intra_op N, inter_op 1, graph
# optimizations 'all', 3 warm-up runs, then RUNS timed runs of session.run). RUNS defaults to 20.
# The model compiled ahead of time (docs/aot.md): `tilec MODEL --shape NAME=DIMS -o model.o`,
# linked with examples/aot/main.c and run as `main INPUT --bench RUNS` with TILE_NUM_THREADS=N
# (its median and min after a warm-up; --no-aot skips it).
# The three alternate model by model and thread count by thread count. Peak RSS: GNU time's %M
# of each process (node's own footprint included for ORT; the table says how much that is).
# Writes bench/results/models-YYYY-MM-DD.md and .svg (a letter appended when the date's files
# exist); --smoke: the classifier only, 2 runs, to build/bench/models-smoke.md/.svg (CI keeps the
# harness from rotting; timings are never judged). A model tilec-run cannot run yet is listed
# with its error and ORT's numbers. Exit 1 when ORT failed on a model.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

runs=20
threads_list="1 2"
models="det rec cls superres_op17"
tilec_run=build/bin/tilec-run
smoke=0
aot=1
while (($#)); do
    case $1 in
        --smoke) smoke=1 runs=2 models=cls ;;
        --runs) runs=$2; shift ;;
        --threads) threads_list=$2; shift ;;
        --models) models=$2; shift ;;
        --tilec-run) tilec_run=$2; shift ;;
        --no-aot) aot=0 ;;
        -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "models bench: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

models_dir=${TILEC_MODELS_DIR:-$repo/build/models}
tests/runner/fetch-models.sh "$models_dir"
rc=$?
if ((rc == 77)); then echo "models bench: SKIPPED: models could not be downloaded (offline?)"; exit 77; fi
((rc == 0)) || { echo "models bench: fetch-models.sh failed" >&2; exit 1; }
[[ -x /usr/bin/time ]] || { echo "models bench: /usr/bin/time missing (apt-get install time)" >&2; exit 1; }

out=build/bench/models
mkdir -p "$out"
/usr/bin/python3 tests/runner/make_inputs.py "$out/inputs" || exit 1
have_tilec=1
if [[ ! -x "$tilec_run" ]]; then
    echo "models bench: no $tilec_run (ninja -C build tilec-run): ORT only" >&2
    have_tilec=0
fi

declare -A file=([det]=det.onnx [rec]=rec.onnx [cls]=cls.onnx [superres_op11]=superres_op11.onnx [superres_op17]=superres_op17.onnx)
declare -A iname=([det]=x [rec]=x [cls]=x [superres_op11]=input [superres_op17]=input)
declare -A ifile=([det]=det_x [rec]=rec_x [cls]=cls_x [superres_op11]=superres_input [superres_op17]=superres_input)
declare -A ishape=([det]=1x3x640x640 [rec]=1x3x48x320 [cls]=1x3x48x192 [superres_op11]=1x1x224x224 [superres_op17]=1x1x224x224)

tilec=$(dirname "$tilec_run")/tilec
if ((aot && have_tilec)) && [[ ! -x "$tilec" ]]; then
    echo "models bench: no $tilec: no ahead-of-time column" >&2
    aot=0
fi
((have_tilec)) || aot=0

tsv=$out/results.tsv
printf 'model\tshape\tthreads\ttilec_median\ttilec_min\ttilec_rss_kb\tort_median\tort_min\tort_rss_kb\tnote\taot_median\taot_min\taot_rss_kb\n' >"$tsv"
for m in $models; do
    [[ -n "${file[$m]:-}" ]] || { echo "models bench: unknown model $m" >&2; exit 2; }
    model=$models_dir/${file[$m]}
    input=${iname[$m]}=$out/inputs/${ifile[$m]}.npy
    # The model ahead of time: model.o + main, built once per model.
    aot_main= aot_note=
    if ((aot)); then
        rm -rf "$out/aot" && mkdir -p "$out/aot"
        if "$tilec" "$model" --shape "${iname[$m]}=${ishape[$m]}" -o "$out/aot/model.o" 2>"$out/aot/err" &&
            cc -std=c11 -O2 -I"$out/aot" examples/aot/main.c "$out/aot/model.o" -lpthread -lm \
                -o "$out/aot/main" 2>>"$out/aot/err"; then
            aot_main=$out/aot/main
        else
            aot_note="ahead of time: $(grep -m 1 -i error "$out/aot/err" | cut -c1-160)"
        fi
    fi
    for t in $threads_list; do
        tmed=- tmin=- trss=- note=
        if ((have_tilec)); then
            if /usr/bin/time -f %M -o "$out/rss" timeout 1200 "$tilec_run" "$model" --input "$input" \
                    --threads "$t" --bench "$runs" >"$out/tilec.out" 2>"$out/tilec.err"; then
                read -r tmed tmin < <(sed -n 's/.*median \([0-9.]*\) ms, min \([0-9.]*\) ms.*/\1 \2/p' "$out/tilec.out" | tail -n 1)
                [[ -n "${tmed:-}" ]] || { tmed=- tmin=- note="tilec-run printed no timing"; }
                trss=$(tail -n 1 "$out/rss")
            else
                msg=$(grep -m 1 -i error "$out/tilec.err" || grep -v '^[[:space:]]*$' "$out/tilec.err" | tail -n 1)
                msg=${msg#tilec run: error: }; msg=${msg//$model: /}
                note="tilec-run: $(cut -c1-200 <<<"$msg")"
            fi
        fi
        omed=- omin=- orss=-
        if /usr/bin/time -f %M -o "$out/rss" node tests/runner/ort_run.js "$model" --input "$input" \
                --threads "$t" --bench "$runs" --warmup 3 >"$out/ort.json" 2>"$out/ort.err"; then
            read -r omed omin < <(node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
                console.log(r.bench.median_ms, r.bench.min_ms)' "$out/ort.json")
            orss=$(tail -n 1 "$out/rss")
        else
            note="${note:+$note; }ORT: $(tail -n 1 "$out/ort.err" | cut -c1-160)"
        fi
        amed=- amin=- arss=-
        if [[ -n "$aot_main" ]]; then
            if TILE_NUM_THREADS=$t /usr/bin/time -f %M -o "$out/rss" timeout 1200 "$aot_main" \
                    "$out/inputs/${ifile[$m]}.npy" --bench "$runs" >"$out/aot.out" 2>"$out/aot.err"; then
                read -r amed amin < <(sed -n 's/^bench: .*median \([0-9.]*\) ms, min \([0-9.]*\) ms.*/\1 \2/p' "$out/aot.out")
                [[ -n "${amed:-}" ]] || { amed=- amin=- note="${note:+$note; }ahead of time: no timing"; }
                arss=$(tail -n 1 "$out/rss")
            else
                note="${note:+$note; }ahead of time: $(grep -v '^[[:space:]]*$' "$out/aot.err" | tail -n 1 | cut -c1-160)"
            fi
        elif [[ -n "$aot_note" ]]; then
            note="${note:+$note; }$aot_note"
        fi
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "${ishape[$m]}" "$t" "$tmed" "$tmin" "$trss" \
            "$omed" "$omin" "$orss" "$note" "$amed" "$amin" "$arss" | tee -a "$tsv" | cut -f1-9,11-13
    done
done

# node + onnxruntime-node loaded, no session: what of ORT's RSS is not the model's.
node_rss=$(/usr/bin/time -f %M node -e "require('$models_dir/ort/node_modules/onnxruntime-node')" 2>&1 >/dev/null | tail -n 1)

if ((smoke)); then
    base=build/bench/models-smoke
else
    mkdir -p bench/results
    base=bench/results/models-$(date +%F)
    for s in b c d e f g h i j k; do
        [[ -e "$base.md" ]] || break
        base=bench/results/models-$(date +%F)$s
    done
fi

ort_version=$(node -e "console.log(require('$models_dir/ort/node_modules/onnxruntime-node/package.json').version)")
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ", uncommitted changes")
load=$(cut -d' ' -f1-3 /proc/loadavg)

TSV=$tsv MD=$base.md SVG=$base.svg RUNS=$runs NODE_RSS=$node_rss ORTV=$ort_version CPU="$cpu" \
COMMIT="$commit$dirty" LOAD="$load" CORES=$(nproc) /usr/bin/python3 - <<'EOF'
import csv, datetime, html, os

rows = list(csv.DictReader(open(os.environ["TSV"]), delimiter="\t"))
def num(s):
    try:
        return float(s)
    except ValueError:
        return None
def mib(s):
    v = num(s)
    return "-" if v is None else f"{v / 1024:.0f}"
def ms(s):
    v = num(s)
    return "-" if v is None else (f"{v:.2f}" if v < 10 else f"{v:.1f}")

runs = os.environ["RUNS"]
lines = [
    f"# Whole models: tilec run vs ONNX Runtime ({datetime.date.today().isoformat()})",
    "",
    f"{os.environ['CPU']}, {os.environ['CORES']} cores (load average at the end: {os.environ['LOAD']}); "
    f"tilec {os.environ['COMMIT']}, onnxruntime-node {os.environ['ORTV']} (CPU EP, graph optimizations 'all', "
    f"inter-op 1). Median and min of {runs} runs after a warm-up, in ms, both in the same run on the same "
    f"inputs (tests/runner/make_inputs.py). ratio = ORT median / tilec median (above 1: tilec is faster). "
    f"Peak RSS in MiB (GNU time %M of the whole process; node with onnxruntime-node loaded and no model "
    f"is {int(os.environ['NODE_RSS']) / 1024:.0f} MiB of ORT's). AOT: the model compiled ahead of time "
    f"(`tilec MODEL -o model.o`, examples/aot/main.c --bench), its median, min and RSS; AOT ratio = ORT "
    f"median / AOT median.",
    "",
    "| model | input | threads | tilec median | tilec min | ORT median | ORT min | ratio | AOT median | AOT min | AOT ratio | tilec RSS | AOT RSS | ORT RSS |",
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]
notes = []
for r in rows:
    tm, om = num(r["tilec_median"]), num(r["ort_median"])
    am = num(r["aot_median"])
    ratio = f"{om / tm:.2f}" if tm and om else "-"
    aratio = f"{om / am:.2f}" if am and om else "-"
    lines.append(f"| {r['model']} | {r['shape']} | {r['threads']} | {ms(r['tilec_median'])} | {ms(r['tilec_min'])} | "
                 f"{ms(r['ort_median'])} | {ms(r['ort_min'])} | {ratio} | {ms(r['aot_median'])} | {ms(r['aot_min'])} | "
                 f"{aratio} | {mib(r['tilec_rss_kb'])} | {mib(r['aot_rss_kb'])} | {mib(r['ort_rss_kb'])} |")
    if r["note"]:
        notes.append(f"- {r['model']}, {r['threads']} thread(s): {r['note']}")
if notes:
    lines += ["", "Notes:", ""] + notes
open(os.environ["MD"], "w").write("\n".join(lines) + "\n")

# Chart: per model, bars for tilec and ORT at each thread count, as latency relative to ORT's
# slowest (1-thread) median of that model, each labelled with its milliseconds.
models = []
for r in rows:
    if r["model"] not in models:
        models.append(r["model"])
threads = []
for r in rows:
    if r["threads"] not in threads:
        threads.append(r["threads"])
series = [(t, who) for t in threads for who in ("tilec", "ORT")]
colors = {"tilec": ["#1f77b4", "#6baed6", "#9ecae1"], "ORT": ["#d62728", "#fc9272", "#fcbba1"]}
bw, gap, left, top, ph = 26, 34, 60, 50, 260
gw = len(series) * bw + gap
W = max(left + len(models) * gw + 20, left + len(series) * 130 + 20, 560)
H = top + ph + 90
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
       f'<rect width="{W}" height="{H}" fill="white"/>',
       f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="14">Whole-model latency: tilec run vs ONNX Runtime (lower is better)</text>',
       f'<text x="{W / 2}" y="34" text-anchor="middle" fill="#555">bar height relative to the model\'s highest bar; label: median ms of {runs} runs</text>']
for frac in (0, 0.25, 0.5, 0.75, 1.0):
    y = top + ph - frac * ph
    out.append(f'<line x1="{left}" x2="{W - 10}" y1="{y}" y2="{y}" stroke="#ddd"/>')
    out.append(f'<text x="{left - 6}" y="{y + 4}" text-anchor="end" fill="#555">{frac:.2f}</text>')
for gi, m in enumerate(models):
    vals = {}
    for r in rows:
        if r["model"] == m:
            vals[(r["threads"], "tilec")] = num(r["tilec_median"])
            vals[(r["threads"], "ORT")] = num(r["ort_median"])
    top_v = max([v for v in vals.values() if v] or [1])
    x0 = left + gi * gw + gap / 2
    for si, (t, who) in enumerate(series):
        v = vals.get((t, who))
        x = x0 + si * bw
        c = colors[who][min(threads.index(t), 2)]
        if v is None:
            out.append(f'<text x="{x + bw / 2}" y="{top + ph - 4}" text-anchor="middle" fill="#999">n/a</text>')
            continue
        h = v / top_v * ph
        out.append(f'<rect x="{x + 2}" y="{top + ph - h:.1f}" width="{bw - 4}" height="{h:.1f}" fill="{c}">'
                   f'<title>{html.escape(m)} {who} {t} thread(s): {v:.3f} ms</title></rect>')
        lab = f"{v:.1f}" if v >= 10 else f"{v:.2f}"
        out.append(f'<text x="{x + bw / 2}" y="{top + ph - h - 4:.1f}" text-anchor="middle" font-size="9">{lab}</text>')
    out.append(f'<text x="{x0 + len(series) * bw / 2}" y="{top + ph + 16}" text-anchor="middle">{html.escape(m)}</text>')
ly = top + ph + 40
lx = left
for t, who in series:
    c = colors[who][min(threads.index(t), 2)]
    out.append(f'<rect x="{lx}" y="{ly}" width="12" height="12" fill="{c}"/>')
    out.append(f'<text x="{lx + 16}" y="{ly + 10}">{who}, {t} thread{"s" if t != "1" else ""}</text>')
    lx += 130
out.append("</svg>")
open(os.environ["SVG"], "w").write("\n".join(out) + "\n")
EOF
echo
cat "$base.md"
echo
echo "table: $base.md  chart: $base.svg"
# ORT must have run everywhere (the harness works); tilec-run's failures are in the notes.
if awk -F'\t' 'NR > 1 && $7 == "-" { bad = 1 } END { exit !bad }' "$tsv"; then
    echo "models bench: ONNX Runtime failed on some model (see the notes)" >&2
    exit 1
fi
exit 0
