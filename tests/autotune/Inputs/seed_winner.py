# tests/autotune/Inputs/seed_winner.py DB KERNEL SHAPE CONFIG FACTOR — writes a careful `ok` row for
# CONFIG at SHAPE of KERNEL, FACTOR times the time of the shape's default row (the row with the
# most calls, which the tuner's reference measured), under the same key: a known winner (or loser)
# for `tilec run --db` to route (model-tune.test). Fails when the database has no such shape.
import sqlite3
import sys

db, kernel, shape, config, factor = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
con = sqlite3.connect(db)
row = con.execute(
    "SELECT source_hash, compiler, target, device, seconds FROM results WHERE kernel=? AND shape=? "
    "AND status='ok' ORDER BY reps DESC, seconds LIMIT 1", (kernel, shape)).fetchone()
if row is None:
    sys.exit("seed_winner.py: no ok row of %s at %s in %s" % (kernel, shape, db))
con.execute("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?,?,?,'ok',?,5,0,'2026-01-01T00:00:00Z')",
            row[:4] + (kernel, shape, config, row[4] * factor))
con.commit()
