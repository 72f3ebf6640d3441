// tests/stdlib/Inputs/grouped_gemm.c — stdlib/grouped_gemm.tile's grouped_matmul against a
// plain C loop: groups of different M, K, N (1, odd sizes, sizes that are not multiples of any
// tile, 0-sized groups, K = 0), one group, no group; guard values after every C; the status of
// a bad call (a negative length, a NULL list).
#include "harness.h"

#include "grouped_gemm.h"

#define MAXG 8

// Runs one grouped call over n groups of sizes mkn[g] = {M, K, N} and checks every C.
static void run(const char *what, int n, const int64_t (*mkn)[3]) {
    float *a[MAXG], *b[MAXG], *c[MAXG];
    int64_t M[MAXG], K[MAXG], N[MAXG];
    for (int g = 0; g < n; g++) {
        M[g] = mkn[g][0], K[g] = mkn[g][1], N[g] = mkn[g][2];
        a[g] = alloc_guarded(M[g] * K[g]);
        b[g] = alloc_guarded(K[g] * N[g]);
        c[g] = alloc_guarded(M[g] * N[g]);
    }
    CALL(grouped_matmul((const float *const *)a, (const float *const *)b, c, M, K, N, n));
    for (int g = 0; g < n; g++) {
        char name[96];
        snprintf(name, sizeof name, "%s: group %d (M %lld, K %lld, N %lld)", what, g, (long long)M[g],
                 (long long)K[g], (long long)N[g]);
        double *want = malloc(sizeof(double) * (size_t)(M[g] * N[g] + 1));
        ref_matmul(a[g], b[g], want, M[g], K[g], N[g]);
        fails += check_close(c[g], want, M[g] * N[g], 1e-4, name);
        fails += check_guard(c[g], M[g] * N[g], name);
        free(want);
        free(a[g]), free(b[g]), free(c[g]);
    }
}

int main(void) {
    static const int64_t mixed[][3] = {{1, 1, 1},   {17, 33, 65}, {64, 64, 64}, {0, 8, 8},
                                       {130, 7, 1}, {3, 0, 5},    {1, 300, 17}, {96, 1, 200}};
    run("mixed", 8, mixed);
    static const int64_t one[][3] = {{200, 130, 150}};
    run("one group", 1, one);
    static const int64_t small[][3] = {{2, 3, 4}, {0, 0, 0}, {5, 1, 0}};
    run("small and empty", 3, small);
    run("no group", 0, NULL);
    // Status codes: a negative length; a NULL list while it has elements (nothing is read).
    int64_t M[1] = {4}, K[1] = {4}, N[1] = {4};
    float *c[1] = {NULL};
    EXPECT(grouped_matmul(NULL, NULL, c, M, K, N, -1) == TILEC_ERR_SIZE, "a negative G is not status 1");
    EXPECT(grouped_matmul(NULL, NULL, c, M, K, N, 1) == TILEC_ERR_NULL, "a NULL list is not status 2");
    if (fails)
        return 1;
    printf("grouped_matmul: all groups match\n");
    return 0;
}
