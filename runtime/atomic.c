// runtime/atomic.c — compare-and-swap for compiled kernels' atomic_cas (docs/language.md §8.7).
// The x86 lowering calls these instead of emitting llvm.cmpxchg itself: MLIR's buffer
// deallocation rejects ops with unknown memory effects (llvm.cmpxchg) or with regions that are
// not region branches (memref.generic_atomic_rmw), and a call to a declared function is neither.
// Sequentially consistent; the result is the value *p held before.
#include <stdint.h>

int32_t tilec_rt_cas_i32(int32_t *p, int32_t cmp, int32_t val);
int64_t tilec_rt_cas_i64(int64_t *p, int64_t cmp, int64_t val);

int32_t tilec_rt_cas_i32(int32_t *p, int32_t cmp, int32_t val) {
    __atomic_compare_exchange_n(p, &cmp, val, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return cmp;
}

int64_t tilec_rt_cas_i64(int64_t *p, int64_t cmp, int64_t val) {
    __atomic_compare_exchange_n(p, &cmp, val, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return cmp;
}
