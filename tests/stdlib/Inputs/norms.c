// Differential driver: stdlib/softmax.tile's softmax and log-softmax kernels,
// stdlib/layernorm.tile, stdlib/norms.tile (RMS norm with and without shift, layer norm over rows
// of any length) against plain C at edge sizes: rows of 1, 7, 17, 127, 1000 and 3000 columns
// (longer than the default tile), 1 and 5 rows; and rows of at most 128 columns in blocks of 8
// (the BR = 8 versions: 8, 13 and 21 rows, the last block partial; 129 columns and 7 rows take
// the one-row versions again).
#include "harness.h"
#include "layernorm.h"
#include "norms.h"
#include "softmax.h"

// whole: the row fits the one-tile kernels (C <= 8192); else they must reject the call.
static void run(int64_t r, int64_t c, int whole) {
    float *x = rand_buf(r * c, 8), *w = rand_buf(c, 1), *b = rand_buf(c, 1), *y = alloc_guarded(r * c);
    double *want = want_buf(r * c);
    char what[100];
    for (int online = 0; online < 2; online++) {  // log-softmax
        ref_softmax(x, want, r, c);
        for (int64_t i = 0; i < r * c; i++)
            want[i] = log(want[i]);
        snprintf(what, sizeof what, "log_softmax%s R=%lld C=%lld", online ? "_online" : "", (long long)r,
                 (long long)c);
        if (!online && !whole) {
            EXPECT(log_softmax(x, y, r, c) == 3, "%s must return TILEC_ERR_CONSTRAINT", what);
            continue;
        }
        CALL(online ? log_softmax_online(x, y, r, c) : log_softmax(x, y, r, c));
        fails += check_close(y, want, r * c, 1e-5, what) + check_guard(y, r * c, what);
    }
    if (whole) {
        ref_softmax(x, want, r, c);
        snprintf(what, sizeof what, "softmax R=%lld C=%lld", (long long)r, (long long)c);
        CALL(softmax(x, y, r, c));
        fails += check_close(y, want, r * c, 1e-5, what) + check_guard(y, r * c, what);
        ref_layernorm(x, w, b, 1e-5f, want, r, c);
        snprintf(what, sizeof what, "layernorm R=%lld C=%lld", (long long)r, (long long)c);
        CALL(layernorm(x, w, b, y, 1e-5f, r, c));
        fails += check_close(y, want, r * c, 1e-4, what) + check_guard(y, r * c, what);
    }
    for (int shift = 0; shift < 2 * whole; shift++) {  // RMS norm
        for (int64_t i = 0; i < r; i++) {
            double ms = 0;
            for (int64_t j = 0; j < c; j++)
                ms += (double)x[i * c + j] * x[i * c + j];
            ms /= (double)c;
            for (int64_t j = 0; j < c; j++)
                want[i * c + j] = x[i * c + j] / sqrt(ms + 1e-6) * w[j] + (shift ? b[j] : 0);
        }
        snprintf(what, sizeof what, "rmsnorm R=%lld C=%lld shift=%d", (long long)r, (long long)c, shift);
        CALL(rmsnorm(x, w, shift ? b : NULL, y, 1e-6f, r, c, shift ? c : 0));
        fails += check_close(y, want, r * c, 1e-5, what) + check_guard(y, r * c, what);
    }
    for (int64_t i = 0; i < r * c; i++)  // an offset that naive sums of squares would lose
        x[i] += 100.0f;
    ref_layernorm(x, w, b, 1e-5f, want, r, c);
    snprintf(what, sizeof what, "layernorm_online R=%lld C=%lld", (long long)r, (long long)c);
    CALL(layernorm_online(x, w, b, y, 1e-5f, r, c));
    fails += check_close(y, want, r * c, 2e-4, what) + check_guard(y, r * c, what);
    free(x), free(w), free(b), free(y), free(want);
}

int main(void) {
    const int64_t cols[] = {1, 7, 17, 127, 1000, 3000};
    for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++)
        run(1, cols[i], 1), run(5, cols[i], 1);
    const int64_t short_cols[] = {1, 7, 17, 100, 127, 128, 129};
    const int64_t rows[] = {7, 8, 13, 21};
    for (size_t i = 0; i < sizeof short_cols / sizeof short_cols[0]; i++)
        for (size_t j = 0; j < sizeof rows / sizeof rows[0]; j++)
            run(rows[j], short_cols[i], 1);
    run(2, 9000, 0);  // past the largest row tile: the one-tile kernels reject it, the online ones do not
    // Rows of at most 128 columns, 8 rows or more: the block versions (BR = 8) run, not the
    // one-row ones (R < 8, C > 128).
    float v[4] = {0};
    EXPECT(softmax__version(v, v, 13, 100) != softmax__version(v, v, 5, 100) &&
               softmax__version(v, v, 13, 100) != softmax__version(v, v, 13, 129),
           "softmax of 13 rows of 100 must run a block version");
    EXPECT(log_softmax__version(v, v, 13, 100) != log_softmax__version(v, v, 5, 100),
           "log_softmax of 13 rows of 100 must run a block version");
    EXPECT(layernorm__version(v, v, v, v, 1e-5f, 13, 100) != layernorm__version(v, v, v, v, 1e-5f, 5, 100),
           "layernorm of 13 rows of 100 must run a block version");
    EXPECT(rmsnorm__version(v, v, v, v, 1e-6f, 13, 100, 0) != rmsnorm__version(v, v, v, v, 1e-6f, 5, 100, 0),
           "rmsnorm of 13 rows of 100 must run a block version");
    EXPECT(rmsnorm(v, v, v, v, 1e-6f, 1, 2, 1) == 3,
           "rmsnorm with a shift of the wrong size must be rejected");
    printf("norms: %s\n", fails ? "FAILED" : "all sizes match");
    return fails != 0;
}
