"""Where the stock client's time goes in `MlflowClient.log_batch` of 1,000 metrics: 30 timed calls
after 3 untimed ones, then 30 more under cProfile, against a server already running. Usage:

    .build-venv/bin/python Benchmarks/server/profile_client.py http://127.0.0.1:5000

Prints the unprofiled rate, then the profile by cumulative and by own time; the time in
`recv_into` is the time spent waiting for the server."""
import cProfile
import os
import pstats
import random
import sys
import time

os.environ.update(MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0")
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import Metric  # noqa: E402

client = MlflowClient(sys.argv[1])
experiment = client.get_experiment_by_name("profile") or client.get_experiment(client.create_experiment("profile"))
run = client.create_run(experiment.experiment_id)
rng = random.Random(1)


def call(b):
    metrics = [Metric(f"m{i % 10}", rng.random(), 1_700_000_000_000 + b, b * 100 + i // 10) for i in range(1000)]
    client.log_batch(run.info.run_id, metrics=metrics)


for b in range(3):
    call(b)
start = time.perf_counter()
for b in range(3, 33):
    call(b)
elapsed = time.perf_counter() - start
print(f"{30 * 1000 / elapsed:,.0f} points/s, {elapsed / 30 * 1000:.1f} ms a call (unprofiled)")
profile = cProfile.Profile()
profile.enable()
for b in range(33, 63):
    call(b)
profile.disable()
stats = pstats.Stats(profile)
stats.sort_stats("cumulative").print_stats(25)
stats.sort_stats("tottime").print_stats(15)
