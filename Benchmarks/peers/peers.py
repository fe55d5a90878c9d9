"""The Python peers of Runlog's side-by-side comparison, on the workload runlog-peer generated.

Each peer logs the same points the way its users would, then reads back run 0's loss history and
runs the same metric-filtered search (last loss < 0.5) where the tool has one. Prints one JSON
object per peer: points, ingest_seconds, bytes, read_seconds, read_points, search_seconds,
search_runs, or error.

usage: python peers.py WORKLOAD DIR [peer ...]
"""
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import time

import numpy as np

os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")

POINT = np.dtype([("step", "<i8"), ("timestamp", "<i8"), ("value", "<f8")])


def load(path):
    """[(run, [(name, points array)])] from runlog-peer's workload file."""
    data = open(path, "rb").read()
    assert data[:4] == b"RLWK", "not a workload file"
    runs, series, steps = struct.unpack_from("<III", data, 4)
    offset = 16
    result = []
    for _ in range(runs):
        run = []
        for _ in range(series):
            length = data[offset]
            name = data[offset + 1 : offset + 1 + length].decode()
            offset += 1 + length
            points = np.frombuffer(data, dtype=POINT, count=steps, offset=offset)
            offset += steps * POINT.itemsize
            run.append((name, points))
        result.append(run)
    return result


def directory_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if os.path.isfile(full) and not os.path.islink(full):
                total += os.path.getsize(full)
    return total


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def mlflow_peer(workload, directory, uri):
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("peers")  # schema set up before timing
    ids = []

    def ingest():
        for index, run in enumerate(workload):
            run_id = client.create_run(experiment, run_name=f"run-{index}").info.run_id
            client.log_param(run_id, "run", str(index))
            batch = []
            for i in range(len(run[0][1])):
                for name, points in run:
                    p = points[i]
                    batch.append(Metric(name, float(p["value"]), int(p["timestamp"]), int(p["step"])))
                if len(batch) >= 1000:  # log_batch takes at most 1,000 metrics a call
                    client.log_batch(run_id, metrics=batch)
                    batch = []
            if batch:
                client.log_batch(run_id, metrics=batch)
            client.set_terminated(run_id)
            ids.append(run_id)

    ingest_seconds, _ = timed(ingest)
    read_seconds, history = timed(lambda: client.get_metric_history(ids[0], "loss"))
    search_seconds, found = timed(lambda: client.search_runs([experiment], "metrics.loss < 0.5"))
    return ingest_seconds, directory_bytes(directory), read_seconds, len(history), search_seconds, len(found)


def mlflow_sqlite(workload, directory):
    return mlflow_peer(workload, directory, "sqlite:///" + os.path.join(directory, "mlflow.db"))


def mlflow_files(workload, directory):
    return mlflow_peer(workload, directory, "file://" + os.path.join(directory, "mlruns"))


def tensorboardx(workload, directory):
    from tensorboardX import SummaryWriter
    from tensorboardX.proto import event_pb2

    def ingest():
        for index, run in enumerate(workload):
            writer = SummaryWriter(logdir=os.path.join(directory, f"run-{index}"))
            for i in range(len(run[0][1])):
                for name, points in run:
                    p = points[i]
                    writer.add_scalar(name, float(p["value"]), int(p["step"]), walltime=p["timestamp"] / 1000)
            writer.close()

    def read():
        # TFRecord framing: length:u64 lengthCRC:u32 data dataCRC:u32, each an Event proto.
        run_directory = os.path.join(directory, "run-0")
        values = []
        for name in sorted(os.listdir(run_directory)):
            data = open(os.path.join(run_directory, name), "rb").read()
            offset = 0
            while offset + 12 <= len(data):
                (length,) = struct.unpack_from("<Q", data, offset)
                event = event_pb2.Event()
                event.ParseFromString(data[offset + 12 : offset + 12 + length])
                offset += 12 + length + 4
                for value in event.summary.value:
                    if value.tag == "loss":
                        values.append((event.step, value.simple_value))
        return values

    ingest_seconds, _ = timed(ingest)
    read_seconds, history = timed(read)
    return ingest_seconds, directory_bytes(directory), read_seconds, len(history), None, None


def aim_peer(workload, directory):
    from aim import Repo, Run

    Repo.from_path(directory, init=True)

    def ingest():
        for index, run in enumerate(workload):
            tracked = Run(repo=directory, experiment="peers", system_tracking_interval=None, log_system_params=False)
            tracked["run"] = index
            for i in range(len(run[0][1])):
                for name, points in run:
                    p = points[i]
                    tracked.track(float(p["value"]), name=name, step=int(p["step"]))
            tracked.close()

    def read():
        repo = Repo(directory)
        for run in repo.iter_runs():
            if run["run"] == 0:
                for metric in run.metrics():
                    if metric.name == "loss":
                        return list(metric.values.values_list())
        return []

    def search():
        repo = Repo(directory)
        return {m.run.hash for m in repo.query_metrics("metric.name == 'loss' and metric.last < 0.5").iter()}

    ingest_seconds, _ = timed(ingest)
    # Aim's queries see runs once its index includes them, which its UI does in the background;
    # here the index is rebuilt outright (timed apart, not counted as ingest).
    aim = os.path.join(os.path.dirname(sys.executable), "aim")
    reindex_seconds, _ = timed(
        lambda: subprocess.run([aim, "storage", "reindex", "-y"], cwd=directory, check=True, capture_output=True)
    )
    print(json.dumps({"note": f"aim: reindexing before queries took {reindex_seconds:.2f} s"}), flush=True)
    read_seconds, history = timed(read)
    search_seconds, found = timed(search)
    return ingest_seconds, directory_bytes(directory), read_seconds, len(history), search_seconds, len(found)


def sqlite_peer(workload, directory):
    path = os.path.join(directory, "metrics.db")
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE metrics (run INTEGER, key TEXT, step INTEGER, timestamp INTEGER, value REAL)")

    def ingest():
        rows = (
            (index, name, int(p["step"]), int(p["timestamp"]), float(p["value"]))
            for index, run in enumerate(workload)
            for i in range(len(run[0][1]))
            for name, points in run
            for p in (points[i],)
        )
        with connection:  # one transaction, one prepared insert
            connection.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?)", rows)

    ingest_seconds, _ = timed(ingest)
    read_seconds, history = timed(
        lambda: connection.execute(
            "SELECT step, timestamp, value FROM metrics WHERE run = 0 AND key = 'loss' ORDER BY step"
        ).fetchall()
    )
    search_seconds, found = timed(
        lambda: connection.execute(
            "SELECT run FROM (SELECT run, value, MAX(step) FROM metrics WHERE key = 'loss' GROUP BY run) WHERE value < 0.5"
        ).fetchall()
    )
    connection.close()
    return ingest_seconds, directory_bytes(directory), read_seconds, len(history), search_seconds, len(found)


PEERS = {
    "mlflow-sqlite": mlflow_sqlite,
    "mlflow-files": mlflow_files,
    "tensorboardx": tensorboardx,
    "aim": aim_peer,
    "sqlite": sqlite_peer,
}


def main():
    workload_path, directory = sys.argv[1], sys.argv[2]
    names = sys.argv[3:] or list(PEERS)
    workload = load(workload_path)
    points = sum(len(points) for run in workload for _, points in run)
    for name in names:
        peer_directory = os.path.join(directory, name)
        shutil.rmtree(peer_directory, ignore_errors=True)
        os.makedirs(peer_directory)
        try:
            ingest, size, read, read_points, search, search_runs = PEERS[name](workload, peer_directory)
            result = {
                "peer": name, "points": points, "ingest_seconds": ingest, "bytes": size, "read_seconds": read,
                "read_points": read_points, "search_seconds": search, "search_runs": search_runs,
            }
        except Exception as error:  # a peer that fails is reported, not fatal to the others
            result = {"peer": name, "error": f"{type(error).__name__}: {error}"}
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
