// bench/attention_bench.c — times stdlib attention (tilec, f32) for one shape per argument
// "NBxNHxSxD[c]" (c: causal; T = S) and prints one line per shape: the shape, causal, and the
// median time in ms. bench/attention_peers.py runs it and PyTorch on the same shapes.
#include <stdio.h>
#include <string.h>

#include "attention.h"
#include "bench.h"

int main(int argc, char **argv) {
    for (int a = 1; a < argc; a++) {
        long nb, nh, s, d;
        char c = 0;
        if (sscanf(argv[a], "%ldx%ldx%ldx%ld%c", &nb, &nh, &s, &d, &c) < 4) {
            fprintf(stderr, "attention_bench: bad shape '%s' (expected NBxNHxSxD, c for causal)\n", argv[a]);
            return 2;
        }
        int causal = c == 'c';
        size_t n = (size_t)(nb * nh * s * d);
        float *q = malloc(4 * n), *k = malloc(4 * n), *v = malloc(4 * n), *o = malloc(4 * n);
        for (size_t i = 0; i < n; i++)
            q[i] = (float)(i % 17) * 0.01f, k[i] = (float)(i % 13) * 0.01f, v[i] = (float)(i % 11) * 0.1f;
        double t[7];
        int reps = s * s * nb * nh > (1L << 26) ? 3 : 7;
        attention(q, k, v, o, 1.0f / 8, causal, nb, nh, s, d, s);  // warm-up
        for (int r = 0; r < reps; r++) {
            double t0 = now();
            if (attention(q, k, v, o, 1.0f / 8, causal, nb, nh, s, d, s) != 0) {
                fprintf(stderr, "attention_bench: the kernel failed\n");
                return 1;
            }
            t[r] = now() - t0;
        }
        printf("%ldx%ldx%ldx%ld %d %.4f\n", nb, nh, s, d, causal, median(t, reps) * 1e3);
        free(q), free(k), free(v), free(o);
    }
    return 0;
}
