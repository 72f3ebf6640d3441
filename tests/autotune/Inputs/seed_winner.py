# tests/autotune/Inputs/seed_winner.py DB KERNEL SHAPE CONFIG FACTOR [sole] — writes a careful `ok`
# row for CONFIG at SHAPE of KERNEL, FACTOR times the time of the shape's default row (the row with
# the most calls, which the tuner's reference measured), under the same key: a known winner (or
# loser) for `tilec run --db` to route (model-tune.test). With `sole`, the shape's other measured
# configurations are removed first, so that what the tuner happened to find on a busy machine
# (a real winner) cannot decide the test. Fails when the database has no such shape.
import sqlite3
import sys

db, kernel, shape, config, factor = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
sole = len(sys.argv) > 6 and sys.argv[6] == "sole"
con = sqlite3.connect(db)
row = con.execute(
    "SELECT source_hash, compiler, target, device, seconds, config FROM results WHERE kernel=? AND "
    "shape=? AND status='ok' ORDER BY reps DESC, seconds LIMIT 1", (kernel, shape)).fetchone()
if row is None:
    sys.exit("seed_winner.py: no ok row of %s at %s in %s" % (kernel, shape, db))
if sole:
    con.execute("DELETE FROM results WHERE kernel=? AND shape=? AND config<>?", (kernel, shape, row[5]))
con.execute("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,'ok',?,5,0,'2026-01-01T00:00:00Z')",
            row[:4] + (kernel, shape, config, row[4] * factor))
con.commit()
