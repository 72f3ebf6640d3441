// Differential driver: stdlib/dropout.tile against plain C (tests/stdlib/Inputs/philox.h) at
// edge sizes — empty, one element, 17, sizes that are not multiples of the block, a large one —
// for several p and seeds (one past 2^32, so the key's high word matters). The result must
// be bit-identical: the same mask, the same x / (1 - p). The test links it with builds of several
// block sizes: the mask must not depend on the block.
#include "dropout.h"
#include "harness.h"
#include "philox.h"

static void run(int64_t n, float p, uint64_t seed) {
    float *x = alloc_guarded(n), *y = alloc_guarded(n);
    for (int64_t i = 0; i < n; i++)
        x[i] = frand() * 4.0f - 2.0f;
    CALL(dropout(x, y, p, seed, n));
    int64_t bad = 0, first = -1, kept = 0;
    for (int64_t i = 0; i < n; i++) {
        float want = ref_rand(seed, (uint64_t)i) > p ? x[i] / (1.0f - p) : 0.0f;
        kept += ref_rand(seed, (uint64_t)i) > p;
        if (memcmp(&want, &y[i], 4) != 0) {
            if (first < 0)
                first = i;
            bad++;
        }
    }
    char what[96];
    snprintf(what, sizeof what, "dropout n=%lld p=%g seed=%llx", (long long)n, p, (unsigned long long)seed);
    EXPECT(bad == 0, "%s: %lld elements differ (first %lld: got %a, x %a)", what, (long long)bad,
           (long long)first, first >= 0 ? y[first] : 0.0, first >= 0 ? x[first] : 0.0);
    fails += check_guard(y, n, what);
    if (n >= 100000) {  // the kept fraction is 1 - p, within 1%
        double f = (double)kept / (double)n;
        EXPECT(fabs(f - (1.0 - p)) < 0.01, "%s: kept %.4f of the elements", what, f);
    }
    free(x), free(y);
}

int main(void) {
    static const int64_t sizes[] = {0, 1, 17, 255, 1000, 1024, 1025, 4097, 100003, 1 << 20};
    static const float ps[] = {0.0f, 0.25f, 0.5f, 0.9f};
    static const uint64_t seeds[] = {0, 1234, 0x100000001ull, 0xFFFFFFFFFFFFFFFFull};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t j = 0; j < sizeof ps / sizeof ps[0]; j++)
            run(sizes[i], ps[j], seeds[(i + j) % 4]);
    // Status codes: a negative size, a NULL tensor that has elements.
    EXPECT(dropout(NULL, NULL, 0.5f, 1, -1) == TILEC_ERR_SIZE, "negative size");
    EXPECT(dropout(NULL, NULL, 0.5f, 1, 5) == TILEC_ERR_NULL, "NULL tensor");
    if (fails)
        return 1;
    printf("dropout: all sizes match\n");
    return 0;
}
