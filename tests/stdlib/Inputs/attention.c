// Differential driver: stdlib/attention.tile against a plain C attention (the whole score
// matrix, in double) at edge sizes: sequence lengths 1, 17 and 1000, queries and keys of
// different lengths, head dims 64 and 128 and one that is neither (40), causal and not, masks
// broadcast over batch, heads and rows, and the f16/bf16 kernels.
#include "attention.h"
#include "harness.h"

typedef struct Shape {
    int64_t nb, nh, s, t, d;
} Shape;

// mask: [mb][mh][ms][t] or NULL.
static void ref_attention(Shape p, const float *q, const float *k, const float *v, const float *mask,
                          int64_t mb, int64_t mh, int64_t ms, float scale, int causal, double *o) {
    double *sc = malloc(sizeof(double) * (size_t)p.t);
    for (int64_t b = 0; b < p.nb; b++)
        for (int64_t h = 0; h < p.nh; h++)
            for (int64_t i = 0; i < p.s; i++) {
                const float *qi = q + ((b * p.nh + h) * p.s + i) * p.d;
                double m = -INFINITY, l = 0;
                for (int64_t j = 0; j < p.t; j++) {
                    const float *kj = k + ((b * p.nh + h) * p.t + j) * p.d;
                    double s = 0;
                    for (int64_t x = 0; x < p.d; x++)
                        s += (double)qi[x] * kj[x];
                    s *= scale;
                    if (mask)
                        s += mask[(((b % mb) * mh + h % mh) * ms + i % ms) * p.t + j];
                    if (causal && j > i)
                        s = -INFINITY;
                    sc[j] = s;
                    m = fmax(m, s);
                }
                for (int64_t j = 0; j < p.t; j++)
                    l += sc[j] == -INFINITY ? 0 : exp(sc[j] - m);
                double *oi = o + ((b * p.nh + h) * p.s + i) * p.d;
                for (int64_t x = 0; x < p.d; x++)
                    oi[x] = 0;
                for (int64_t j = 0; j < p.t; j++) {
                    double w = sc[j] == -INFINITY ? 0 : exp(sc[j] - m) / l;
                    const float *vj = v + ((b * p.nh + h) * p.t + j) * p.d;
                    for (int64_t x = 0; x < p.d; x++)
                        oi[x] += w * vj[x];
                }
            }
    free(sc);
}

static void run(Shape p, int causal, int64_t mb, int64_t mh, int64_t ms) {
    int64_t nq = p.nb * p.nh * p.s * p.d, nk = p.nb * p.nh * p.t * p.d;
    float *q = rand_buf(nq, 2), *k = rand_buf(nk, 2), *v = rand_buf(nk, 1), *o = alloc_guarded(nq);
    float *mask = mb ? rand_buf(mb * mh * ms * p.t, 3) : NULL;
    if (mask)  // a few keys masked out entirely
        for (int64_t i = 0; i < mb * mh * ms * p.t; i += 7)
            mask[i] = -INFINITY;
    if (mask)  // never every key of a row, causal or not (the kernel would give NaN)
        for (int64_t r = 0; r < mb * mh * ms; r++)
            mask[r * p.t] = 0.5f;
    float scale = 1.0f / sqrtf((float)p.d);
    double *want = want_buf(nq);
    ref_attention(p, q, k, v, mask, mb, mh, ms, scale, causal, want);
    char what[200];
    snprintf(what, sizeof what,
             "attention%s NB=%lld NH=%lld S=%lld T=%lld D=%lld causal=%d mask=%lldx%lldx%lld",
             mask ? "_mask" : "", (long long)p.nb, (long long)p.nh, (long long)p.s, (long long)p.t,
             (long long)p.d, causal, (long long)mb, (long long)mh, (long long)ms);
    if (mask)
        CALL(attention_mask(q, k, v, mask, o, scale, causal, p.nb, p.nh, p.s, p.d, p.t, mb, mh, ms));
    else
        CALL(attention(q, k, v, o, scale, causal, p.nb, p.nh, p.s, p.d, p.t));
    fails += check_close(o, want, nq, 2e-5, what) + check_guard(o, nq, what);

    if (!mask) {  // the 16-bit kernels on the same data rounded to f16/bf16
        uint16_t *q16 = malloc(2 * (size_t)nq), *k16 = malloc(2 * (size_t)nk), *v16 = malloc(2 * (size_t)nk);
        uint16_t *o16 = malloc(2 * (size_t)nq + 32);
        for (int bf = 0; bf < 2; bf++) {
            uint16_t (*to)(float) = bf ? to_bf16 : to_f16;
            float (*from)(uint16_t) = bf ? from_bf16 : from_f16;
            float *qr = malloc(4 * (size_t)nq), *kr = malloc(4 * (size_t)nk), *vr = malloc(4 * (size_t)nk);
            for (int64_t i = 0; i < nq; i++)
                q16[i] = to(q[i]), qr[i] = from(q16[i]);
            for (int64_t i = 0; i < nk; i++)
                k16[i] = to(k[i]), kr[i] = from(k16[i]), v16[i] = to(v[i]), vr[i] = from(v16[i]);
            for (int64_t i = nq; i < nq + 16; i++)
                o16[i] = 0x1234;
            ref_attention(p, qr, kr, vr, NULL, 0, 0, 0, scale, causal, want);
            if (bf)
                CALL(attention_bf16(q16, k16, v16, o16, scale, causal, p.nb, p.nh, p.s, p.d, p.t));
            else
                CALL(attention_f16(q16, k16, v16, o16, scale, causal, p.nb, p.nh, p.s, p.d, p.t));
            // The probabilities are rounded to 16 bits before the product with V, and the
            // result once more: a few units of the format's epsilon.
            double tol = bf ? 3e-2 : 4e-3;
            for (int64_t i = 0; i < nq; i++)
                if (!(fabs(from(o16[i]) - want[i]) <= tol * fmax(1.0, fabs(want[i])))) {
                    printf("FAIL %s %s: element %lld is %g, expected %g\n", bf ? "bf16" : "f16", what,
                           (long long)i, from(o16[i]), want[i]);
                    fails++;
                    break;
                }
            for (int64_t i = nq; i < nq + 16; i++)
                if (o16[i] != 0x1234) {
                    printf("FAIL %s %s: write past the end\n", bf ? "bf16" : "f16", what);
                    fails++;
                    break;
                }
            free(qr), free(kr), free(vr);
        }
        free(q16), free(k16), free(v16), free(o16);
    }
    free(q), free(k), free(v), free(o), free(mask), free(want);
}

int main(void) {
    const Shape shapes[] = {
        {1, 1, 1, 1, 64},    {1, 2, 17, 17, 64},  {2, 3, 17, 40, 128}, {1, 1, 1000, 1000, 64},
        {1, 2, 100, 33, 40}, {1, 1, 5, 130, 256}, {2, 1, 65, 65, 1},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int causal = 0; causal < 2; causal++)
            run(shapes[i], causal, 0, 0, 0);
    Shape m = {2, 3, 17, 23, 64};
    run(m, 0, 2, 3, 17);  // a full mask
    run(m, 1, 1, 1, 17);  // one [S, T] mask for all
    run(m, 0, 2, 1, 1);   // a key-padding mask per batch
    float f[4] = {0};
    EXPECT(attention(f, f, f, f, 1, 0, 1, 1, 1, 300, 1) == 3,
           "a head dim over 256 must return TILEC_ERR_CONSTRAINT");
    EXPECT(attention_mask(f, f, f, f, f, 1, 0, 2, 1, 1, 4, 1, 3, 1, 1) == 3,
           "a mask batch that does not broadcast must return TILEC_ERR_CONSTRAINT");
    printf("attention: %s\n", fails ? "FAILED" : "all sizes match");
    return fails != 0;
}
