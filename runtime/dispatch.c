// runtime/dispatch.c — the version tuned for the shape nearest a call's sizes, or -1 (tilec_rt.h).
#include <math.h>

#include "tilec_rt.h"

int tilec_rt_pick_variant(const int64_t *table, int nentries, int nsizes, const int64_t *sizes) {
    int best = -1;
    double best_d = INFINITY;
    for (int e = 0; e < nentries; e++) {
        const int64_t *row = table + (int64_t)e * TILEC_DISPATCH_ROW(nsizes);
        double d = 0;
        for (int s = 0; s < nsizes && d < INFINITY; s++) {
            double r = fabs(log2((double)(sizes[s] > 1 ? sizes[s] : 1) / (double)(row[s] > 1 ? row[s] : 1)));
            d = r > 1.0 ? INFINITY : d + r;
        }
        if (d < best_d) {
            best_d = d;
            best = (int)row[TILEC_DISPATCH_VERSION(nsizes)];
        }
    }
    return best;
}
