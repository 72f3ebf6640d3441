# tests/autotune/Inputs/same_outputs.py DIR_A DIR_B — every .npy output of DIR_A equals DIR_B's
# (within 1e-5 relative to the largest magnitude: a tuned version may sum in another order).
import os
import sys

import numpy as np

a, b = sys.argv[1], sys.argv[2]
names = sorted(n for n in os.listdir(a) if n.endswith(".npy"))
if not names or names != sorted(n for n in os.listdir(b) if n.endswith(".npy")):
    sys.exit("same_outputs.py: the directories hold different outputs")
for n in names:
    x, y = np.load(os.path.join(a, n)), np.load(os.path.join(b, n))
    scale = max(float(np.abs(x).max()), 1e-30)
    if x.shape != y.shape or float(np.abs(x - y).max()) > 1e-5 * scale:
        sys.exit("same_outputs.py: %s differs" % n)
    print("%s: same (%s)" % (n, "x".join(map(str, x.shape))))
