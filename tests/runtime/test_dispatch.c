// tests/runtime/test_dispatch.c — tilec_rt_pick_variant: the nearest tuned shape within a factor
// of 2 in every size, ties to the first row, else -1.
#include <stdio.h>

#include "tilec_rt.h"

static int failures;

static void expect(const int64_t *table, int n, int nsizes, const int64_t *sizes, int want,
                   const char *what) {
    int got = tilec_rt_pick_variant(table, n, nsizes, sizes);
    if (got != want) {
        printf("FAIL %s: got %d, want %d\n", what, got, want);
        failures++;
    }
}

int main(void) {
    // Rows: M, K, N, version.
    const int64_t t[] = {256, 256, 256, 1, 1024, 1024, 1024, 2, 128, 1024, 4096, 3, 1024, 1024, 1024, 4};
    expect(t, 4, 3, (const int64_t[]){256, 256, 256}, 1, "exact");
    expect(t, 4, 3, (const int64_t[]){300, 200, 256}, 1, "near 256");
    expect(t, 4, 3, (const int64_t[]){700, 700, 700}, 2, "between 256 and 1024, nearer 1024");
    expect(t, 4, 3, (const int64_t[]){1024, 1024, 1024}, 2, "tie: the first row");
    expect(t, 4, 3, (const int64_t[]){100, 1000, 5000}, 3, "flat");
    expect(t, 4, 3, (const int64_t[]){8192, 8192, 8192}, -1, "beyond a factor of 2: none");
    expect(t, 4, 3, (const int64_t[]){256, 256, 100}, -1, "one size too far");
    expect(t, 4, 3, (const int64_t[]){0, 0, 0}, -1, "empty");
    expect(t, 0, 3, (const int64_t[]){256, 256, 256}, -1, "no rows");
    const int64_t one[] = {1, 5};
    expect(one, 1, 1, (const int64_t[]){0}, 5, "size 0 counts as 1");
    expect(one, 1, 1, (const int64_t[]){2}, 5, "size 2 is a factor of 2 from 1");
    expect(one, 1, 1, (const int64_t[]){3}, -1, "size 3 is not");
    printf("%s\n", failures ? "dispatch: FAILED" : "dispatch: all match");
    return failures != 0;
}
