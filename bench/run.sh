#!/usr/bin/env bash
# bench/run.sh — stdlib matmul compiled by tilec against OpenBLAS (libopenblas-dev), on 1
# thread and on all threads, in one run each; prints a table of GFLOP/s and ratios
# (ratio = OpenBLAS time / tilec time: above 1 means tilec is faster).
#   bench/run.sh [--smoke] [--budget SECONDS] [MxNxK ...]
# --smoke runs two small sizes (CI keeps the harness from rotting; timings are never judged).
# Writes the matmul table to build/bench/matmul.txt and its chart to build/bench/matmul.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench
mkdir -p "$out"
args=("$@")
norm_args=()
if [[ "${1:-}" == "--smoke" ]]; then
    args=(64x64x64 96x80x72)
    norm_args=(64x1000 33x4096 40x100)
fi
# TILEC_FLAGS: extra tilec flags (e.g. "-D BM=96 --schedule=reg_m=6,reg_n=16") to compare schedules.
build/bin/tilec ${TILEC_FLAGS:-} stdlib/matmul.tile -o "$out/matmul.o"
cc -O2 -I"$out" -Ibench -I/usr/include/x86_64-linux-gnu/openblas-pthread bench/matmul_bench.c "$out/matmul.o" \
    build/lib/libtilec_rt.a -lopenblas -lpthread -lm -o "$out/matmul_bench"
cores=$(nproc)
# The peer at its best: on AVX-512 machines the environment pins OpenBLAS to its AVX2 (Haswell)
# kernels with OPENBLAS_CORETYPE, which makes it look 1.7x slower than it is; here it runs its
# AVX-512 (SkylakeX) kernels with its own L2 size (matmul_bench prints the kernels it chose).
blas_env=(env)
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
    blas_env=(env -u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=SkylakeX)
fi
{
echo "matmul f32, tilec (stdlib/matmul.tile, $(grep -m1 '//   matmul:' "$out/matmul.h" | sed 's|//   matmul: ||')) vs OpenBLAS $(dpkg-query -W -f='${Version}' libopenblas-dev 2>/dev/null || echo '?')"
echo "$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $cores cores; median of 3-5 runs after a warm-up"
printf 'threads\tshape\n'
for t in 1 "$cores"; do
    "${blas_env[@]}" TILE_NUM_THREADS=$t OPENBLAS_NUM_THREADS=$t "$out/matmul_bench" "${args[@]}"
done
} | tee "$out/matmul.txt"
python3 bench/chart.py "$out/matmul.txt" "$out/matmul.svg" && echo "chart: $out/matmul.svg"

# bf16 matmul (vdpbf16ps where the CPU has AVX512-BF16) against our f32 one and oneDNN's bf16 matmul.
cc -O2 -I"$out" -Ibench bench/matmul_bf16_bench.c "$out/matmul.o" build/lib/libtilec_rt.a -ldnnl -lpthread -lm \
    -o "$out/matmul_bf16_bench"
bf_args=()
[[ "${1:-}" == "--smoke" ]] && bf_args=(--smoke)
echo
echo "matmul_bf16 (bf16 A, B; f32 C) vs stdlib matmul (f32) and oneDNN $(dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null || echo '?') bf16 matmul; median"
for t in 1 "$cores"; do
    TILE_NUM_THREADS=$t OMP_NUM_THREADS=$t "$out/matmul_bf16_bench" "${bf_args[@]}"
done | tee "$out/matmul_bf16.txt"

# Memory-bound kernels: softmax, layer norm, RMS norm, row sums and maxima, vector add, GELU and tanh,
# against a plain C loop doing the
# same work (-O3 -march=native -ffast-math) and a copy of the same bytes.
for k in softmax layernorm norms reduce vector_add activations; do build/bin/tilec stdlib/$k.tile -o "$out/$k.o"; done
cc -O3 -march=native -ffast-math -I"$out" -Ibench -Iruntime bench/norms_bench.c "$out/softmax.o" \
    "$out/layernorm.o" "$out/norms.o" "$out/reduce.o" "$out/vector_add.o" "$out/activations.o" build/lib/libtilec_rt.a -lpthread -lm -o "$out/norms_bench"
echo
echo "memory-bound kernels f32 (stdlib, untuned objects), GB/s = (bytes read + written) / s; C loop: the"
echo "same work in plain C (-O3 -march=native -ffast-math); copy: memcpy of as many bytes; same threads"
printf 'threads\tRxC\n'
for t in 1 "$cores"; do
    TILE_NUM_THREADS=$t "$out/norms_bench" "${norm_args[@]}"
done | tee "$out/norms.txt"

# log, log2, exp2, exp (bench/mathfns.tile) against C loops on glibc's vectorized functions.
build/bin/tilec bench/mathfns.tile -o "$out/mathfns.o"
cc -O3 -march=native -ffast-math -I"$out" -Ibench bench/math_bench.c "$out/mathfns.o" build/lib/libtilec_rt.a \
    -lpthread -lm -o "$out/math_bench"
math_args=()
[[ "${1:-}" == "--smoke" ]] && math_args=(1000 4097)
echo
echo "math functions f32 (bench/mathfns.tile), GB/s = (bytes read + written) / s; C loop: logf, log2f, exp2f,"
echo "expf (-O3 -march=native -ffast-math, glibc's vector versions); copy: memcpy of as many bytes; one thread"
TILE_NUM_THREADS=1 "$out/math_bench" "${math_args[@]}" | tee "$out/math.txt"

# Dropout (Philox4x32-10 per element) against plain C loops doing the same work.
build/bin/tilec stdlib/dropout.tile -o "$out/dropout.o"
cc -O3 -march=native -ffast-math -I"$out" -Ibench -Iruntime -Itests/stdlib/Inputs bench/dropout_bench.c \
    "$out/dropout.o" build/lib/libtilec_rt.a -lpthread -lm -o "$out/dropout_bench"
drop_args=()
[[ "${1:-}" == "--smoke" ]] && drop_args=(1000 65537)
echo
echo "dropout f32 (stdlib, BLOCK = 1024), elements/s; C loop: the rounds unrolled (vectorized by the"
echo "compiler); C naive: the reference called per element; -O3 -march=native -ffast-math; same threads"
for t in 1 "$cores"; do
    TILE_NUM_THREADS=$t "$out/dropout_bench" "${drop_args[@]}"
done

# Grouped GEMM (tensor lists) against the same 8 problems run one by one with stdlib matmul.
build/bin/tilec stdlib/grouped_gemm.tile -o "$out/grouped_gemm.o"
cc -O2 -I"$out" bench/grouped_gemm_bench.c "$out/grouped_gemm.o" "$out/matmul.o" build/lib/libtilec_rt.a \
    -lpthread -lm -o "$out/grouped_gemm_bench"
echo
echo "grouped_matmul (stdlib/grouped_gemm.tile) vs matmul one problem at a time, one thread"
TILE_NUM_THREADS=1 "$out/grouped_gemm_bench" $([[ "${1:-}" == "--smoke" ]] && echo 1)

# Accesses written with offsets and masks (bench/patterns.tile) against the slice form, one thread.
build/bin/tilec stdlib/vector_add.tile -o "$out/vector_add.o"
build/bin/tilec bench/patterns.tile -o "$out/patterns.o"
build/bin/tilec bench/flash_attention.tile -o "$out/flash_attention.o"
build/bin/tilec stdlib/attention.tile -o "$out/attention.o"
cc -O2 -I"$out" -Ibench bench/patterns_bench.c "$out/patterns.o" "$out/vector_add.o" "$out/flash_attention.o" \
    "$out/attention.o" build/lib/libtilec_rt.a -lpthread -lm -o "$out/patterns_bench"
pat_args=()
[[ "${1:-}" == "--smoke" ]] && pat_args=(1000 6400 64x64x64 97x80x72)
echo
echo "access patterns f32 (bench/patterns.tile) vs the slice form, flash attention with the manual's idioms"
echo "(bench/flash_attention.tile) vs stdlib attention; one thread, min CPU time of the thread"
TILE_NUM_THREADS=1 "$out/patterns_bench" "${pat_args[@]}" | tee "$out/patterns.txt"

# conv2d against oneDNN (libdnnl-dev), attention against PyTorch's CPU attention (python3-torch).
for k in conv2d attention; do build/bin/tilec stdlib/$k.tile -o "$out/$k.o"; done
cc -O2 -I"$out" -Ibench bench/conv_bench.c "$out/conv2d.o" build/lib/libtilec_rt.a -ldnnl -lpthread -lm \
    -o "$out/conv_bench"
cc -O2 -I"$out" -Ibench bench/attention_bench.c "$out/attention.o" build/lib/libtilec_rt.a -lpthread -lm \
    -o "$out/attention_bench"
smoke=()
[[ "${1:-}" == "--smoke" ]] && smoke=(--smoke)
{
echo
echo "conv2d f32 NHWC + bias, tilec (stdlib/conv2d.tile, default tiles) vs oneDNN $(dpkg-query -W -f='${Version}' libdnnl-dev 2>/dev/null || echo '?') (its own weight layout); median ms"
for t in 1 "$cores"; do
    echo "threads $t"
    TILE_NUM_THREADS=$t OMP_NUM_THREADS=$t "$out/conv_bench" "${smoke[@]}"
done
echo
for t in 1 "$cores"; do
    ATTN_THREADS=$t /usr/bin/python3 bench/attention_peers.py "$out/attention_bench" "${smoke[@]}"
done
} | tee "$out/kernels.txt"
