#!/usr/bin/python3
"""tests/runner/compare.py [--threshold T] [--quiet] GOT REF [GOT REF ...]

Compares .npy files: relative L2 error ||got - ref|| / ||ref|| (computed in float64; the absolute
||got - ref|| when ||ref|| is 0), against T (default 1e-4). GOT and REF may be two files, or two
directories: then every REF/*.npy is compared with GOT/ of the same name (a missing one fails).
Prints one line per output (name, shape, rel L2, max abs diff, ok/FAIL); a shape or dtype-kind
mismatch, a missing file or a NaN/Inf where the reference has none fails. Exit 0 when all pass,
1 when any fails, 2 on a usage error.
Run with /usr/bin/python3 (Debian's python3-numpy)."""
import argparse
import os
import sys

import numpy as np


def compare(got_path, ref_path, threshold, name):
    """Returns (ok, line)."""
    if not os.path.exists(got_path):
        return False, f"{name:32s} {'-':>18s} {'missing':>12s} {'':>12s} FAIL (no {got_path})"
    try:
        got = np.load(got_path, allow_pickle=False)
        ref = np.load(ref_path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - report any unreadable file as a failure
        return False, f"{name:32s} unreadable: {e} FAIL"
    shape = "x".join(map(str, ref.shape)) or "scalar"
    if got.shape != ref.shape:
        return False, (f"{name:32s} {shape:>18s} {'-':>12s} {'-':>12s} FAIL "
                       f"(shape {'x'.join(map(str, got.shape)) or 'scalar'}, expected {shape})")
    if ref.dtype.kind != got.dtype.kind and not (ref.dtype.kind in "iu" and got.dtype.kind in "iu"):
        return False, f"{name:32s} {shape:>18s} {'-':>12s} {'-':>12s} FAIL (dtype {got.dtype}, expected {ref.dtype})"
    if ref.dtype.kind == "b":
        got, ref = got.astype(np.float64), ref.astype(np.float64)
    g = got.astype(np.float64).ravel()
    r = ref.astype(np.float64).ravel()
    ref_finite = np.isfinite(r)
    if not np.array_equal(np.isfinite(g), ref_finite) or not np.array_equal(np.isnan(g), np.isnan(r)):
        bad = int(np.count_nonzero(np.isfinite(g) != ref_finite))
        return False, f"{name:32s} {shape:>18s} {'nan/inf':>12s} {'-':>12s} FAIL ({bad} non-finite values differ)"
    # Non-finite values agree (same positions); compare the finite ones, and the infinities' signs.
    if not np.array_equal(g[~ref_finite & ~np.isnan(r)], r[~ref_finite & ~np.isnan(r)]):
        return False, f"{name:32s} {shape:>18s} {'inf':>12s} {'-':>12s} FAIL (infinities differ)"
    g, r = g[ref_finite], r[ref_finite]
    diff = g - r
    nref = float(np.linalg.norm(r))
    ndiff = float(np.linalg.norm(diff))
    rel = ndiff / nref if nref > 0 else ndiff
    maxabs = float(np.max(np.abs(diff))) if diff.size else 0.0
    ok = rel <= threshold
    return ok, f"{name:32s} {shape:>18s} {rel:12.3e} {maxabs:12.3e} {'ok' if ok else 'FAIL'}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1], usage=__doc__.split("\n")[0])
    ap.add_argument("--threshold", type=float, default=1e-4)
    ap.add_argument("--quiet", action="store_true", help="print only failures")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    if len(a.paths) % 2:
        ap.error("expected GOT REF pairs")
    pairs = []
    for got, ref in zip(a.paths[0::2], a.paths[1::2]):
        if os.path.isdir(ref):
            names = sorted(f for f in os.listdir(ref) if f.endswith(".npy"))
            if not names:
                print(f"compare: no .npy files in {ref}", file=sys.stderr)
                return 1
            pairs += [(os.path.join(got, f), os.path.join(ref, f), f[:-4]) for f in names]
        else:
            pairs.append((got, ref, os.path.basename(ref)[:-4] if ref.endswith(".npy") else ref))
    all_ok = True
    if not a.quiet:
        print(f"{'output':32s} {'shape':>18s} {'rel L2':>12s} {'max |diff|':>12s} (threshold {a.threshold:g})")
    for got, ref, name in pairs:
        ok, line = compare(got, ref, a.threshold, name)
        all_ok &= ok
        if not a.quiet or not ok:
            print(line)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
