"""Prints the comparison table from the JSON lines of runlog-peer and peers.py (stdin)."""
import json
import sys

lines = [json.loads(line) for line in sys.stdin if line.strip().startswith("{")]
rows = [line for line in lines if "peer" in line]
notes = [line["note"] for line in lines if "note" in line]
runlog = next(row for row in rows if row.get("peer") == "runlog")


def rate(row):
    return row["points"] / row["ingest_seconds"]


def per_point(row):
    return row["bytes"] / row["points"]


def ms(value):
    return "n/a" if value is None else f"{value * 1e3:.2f}"


print(f"{'tool':<26}{'points/s':>12}{'bytes/point':>13}{'read ms':>10}{'search ms':>11}"
      f"{'Runlog ingest ×':>17}{'Runlog smaller ×':>18}")
for row in rows:
    if "error" in row:
        print(f"{row['peer']:<26}failed: {row['error']}")
        continue
    speed = rate(runlog) / rate(row)
    size = per_point(row) / per_point(runlog)
    print(f"{row['peer']:<26}{rate(row):>12,.0f}{per_point(row):>13.2f}{ms(row['read_seconds']):>10}"
          f"{ms(row['search_seconds']):>11}{speed:>17,.1f}{size:>18,.1f}")
print()
for note in notes:
    print(f"note: {note}")
print(f"workload: {runlog['points']:,} points; read = run 0's loss history ({runlog['read_points']:,} points); "
      "search = runs whose last loss < 0.5")
