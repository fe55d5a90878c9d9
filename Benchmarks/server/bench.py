"""Server figures, side by side in one run: `runlog server` (release build) and a real `mlflow server`
(SQLite backend) on loopback. Usage, from the repository:

    swift build -c release --product runlog
    .build-venv/bin/python Benchmarks/server/bench.py --runlog .build/release/runlog --python .build-venv/bin/python

Needs `wrk` (Debian: apt-get install wrk) for the load-generator figure. Prints one line a figure."""
import argparse
import json
import multiprocessing
import os
import random
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "differential"))
from differential import environment, free_port, wait_healthy  # noqa: E402


def client_batches(args):
    uri, batches, seed = args
    os.environ.update(environment(int(uri.rsplit(":", 1)[1])))
    from mlflow import MlflowClient
    from mlflow.entities import Metric
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("bench") or client.get_experiment(client.create_experiment("bench"))
    run = client.create_run(experiment.experiment_id)
    rng = random.Random(seed)
    # The first calls of a process pay for the client's lazy imports and connection set-up (seconds
    # in all, more than 30 calls take after them): 3 untimed calls first, so the figure is the rate
    # a training loop sustains.
    warm_up = 3
    for b in range(warm_up + batches):
        if b == warm_up:
            start = time.perf_counter()
        metrics = [Metric(f"m{i % 10}", rng.random(), 1_700_000_000_000 + b, b * 100 + i // 10) for i in range(1000)]
        client.log_batch(run.info.run_id, metrics=metrics)
    return time.perf_counter() - start


def points_per_second(uri, processes, batches):
    # Timed inside each worker, around its logging loop only: process start-up and `import mlflow`
    # (seconds) are not logging. The slowest worker bounds the aggregate rate.
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        elapsed = max(pool.map(client_batches, [(uri, batches, seed) for seed in range(processes)]))
    return processes * batches * 1000 / elapsed


def wrk_log_batch(port, run_id, seconds):
    body = json.dumps({"run_id": run_id, "metrics": [
        {"key": f"m{i % 10}", "value": random.random(), "timestamp": 1_700_000_000_000, "step": i} for i in range(1000)]})
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = [[' + body + ']]\n')
    script.close()
    out = subprocess.run(["wrk", "-t2", "-c4", f"-d{seconds}s", "--latency", "-s", script.name,
                          f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/log-batch"], capture_output=True, text=True).stdout
    requests = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+\w+)", out).group(1)
    p50 = re.search(r"50%\s+([\d.]+\w+)", out).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return requests * 1000, p50, p99, int(non2xx.group(1)) if non2xx else 0


def tree_cpu_seconds(root):
    """CPU time used so far by `root` and every process under it."""
    parents, times = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    def under(pid):
        while pid > 1:
            if pid == root:
                return True
            pid = parents.get(pid, 0)
        return False
    return sum(t for pid, t in times.items() if under(pid))


def wait_idle(process, name, limit=180):
    """`mlflow server` answers /health while its job runners (7 processes) are still importing
    mlflow, which keeps both cores busy for half a minute: measuring then measures that. Waits,
    at most `limit` seconds, for a second in which the server's processes use under 5% of a core."""
    started = time.monotonic()
    before = tree_cpu_seconds(process.pid)
    while time.monotonic() - started < limit:
        time.sleep(1)
        now = tree_cpu_seconds(process.pid)
        if now - before < 0.05:
            print(f"{name} idle {time.monotonic() - started:.0f} s after answering /health "
                  f"({now:.1f} CPU seconds so far)", flush=True)
            return
        before = now
    print(f"{name} still busy after {limit} s: the figures below are measured beside it", flush=True)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runlog", required=True)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--batches", type=int, default=30, help="log_batch calls per client process")
    parser.add_argument("--search-runs", type=int, default=10_000, help="0 skips the search and memory figures")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="runlog-bench-")
    runlog_port, mlflow_port = free_port(), free_port()
    runlog = subprocess.Popen([args.runlog, "server", "--store", f"{work}/runlog", "--port", str(runlog_port)],
                              stdout=subprocess.DEVNULL)
    mlflow = subprocess.Popen(
        [os.path.join(os.path.dirname(args.python), "mlflow"), "server", "--backend-store-uri", f"sqlite:///{work}/mlflow.db",
         "--artifacts-destination", f"{work}/artifacts", "--host", "127.0.0.1", "--port", str(mlflow_port)],
        env=environment(mlflow_port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(runlog_port, runlog)
        wait_healthy(mlflow_port, mlflow)
        wait_idle(runlog, "runlog server")
        wait_idle(mlflow, "mlflow server")
        os.environ.update(environment(runlog_port))
        for processes in (1, 4):
            ours = points_per_second(f"http://127.0.0.1:{runlog_port}", processes, args.batches)
            theirs = points_per_second(f"http://127.0.0.1:{mlflow_port}", processes, args.batches)
            print(f"stock client log_batch (1,000 metrics a call), {processes} process(es): runlog {ours:,.0f} points/s, "
                  f"mlflow {theirs:,.0f} points/s, ratio {ours / theirs:.1f}x", flush=True)

        from mlflow import MlflowClient
        from mlflow.entities import Metric, Param
        client = MlflowClient(f"http://127.0.0.1:{runlog_port}")
        run = client.create_run("0")
        accepted, p50, p99, errors = wrk_log_batch(runlog_port, run.info.run_id, 10)
        print(f"wrk, 4 keep-alive connections posting 1,000-metric log-batch bodies for 10 s (sustained): "
              f"{accepted:,.0f} points/s, latency p50 {p50} p99 {p99}, non-2xx {errors}", flush=True)

        history_run = client.create_run("0")
        for b in range(100):
            client.log_batch(history_run.info.run_id,
                             metrics=[Metric("loss", 1.0 / (b * 1000 + i + 1), 1_700_000_000_000, b * 1000 + i) for i in range(1000)])
        timings = []
        for _ in range(5):
            start = time.perf_counter()
            points = client.get_metric_history(history_run.info.run_id, "loss")
            timings.append(time.perf_counter() - start)
        assert len(points) == 100_000
        print(f"get_metric_history of 100,000 points (stock client, 4 pages of 25,000): best {min(timings) * 1000:.0f} ms, "
              f"median {sorted(timings)[2] * 1000:.0f} ms", flush=True)

        if args.search_runs == 0:
            return
        import requests
        session = requests.Session()
        base = f"http://127.0.0.1:{runlog_port}/api/2.0/mlflow"
        experiment = session.post(f"{base}/experiments/create", json={"name": "search"}).json()["experiment_id"]
        rss_before = rss_kb(runlog.pid)
        for i in range(args.search_runs):
            run_id = session.post(f"{base}/runs/create", json={"experiment_id": experiment}).json()["run"]["info"]["run_id"]
            session.post(f"{base}/runs/log-batch", json={
                "run_id": run_id,
                "params": [{"key": f"p{j}", "value": str(random.choice([0.1, 0.01, 0.001]))} for j in range(5)],
                "metrics": [{"key": f"m{j}", "value": random.random(), "timestamp": 1, "step": 0} for j in range(10)]})
            if i + 1 == 1000:
                print(f"server RSS with 1,000 RUNNING runs written through it (writers open): {rss_kb(runlog.pid) / 1024:.0f} MiB "
                      f"(before: {rss_before / 1024:.0f} MiB)", flush=True)
        timings = []
        for _ in range(7):
            start = time.perf_counter()
            found = client.search_runs([experiment], "metrics.m0 < 0.5 and params.p0 = '0.01'", order_by=["metrics.m1 DESC"],
                                       max_results=1000)
            timings.append(time.perf_counter() - start)
        print(f"search_runs over {args.search_runs:,} runs (5 params, 10 metrics), metric filter + order_by, stock client: "
              f"best {min(timings) * 1000:.0f} ms, median {sorted(timings)[3] * 1000:.0f} ms ({len(found)} runs)", flush=True)
        print(f"server RSS after {args.search_runs:,} runs: {rss_kb(runlog.pid) / 1024:.0f} MiB", flush=True)
    finally:
        for process in (runlog, mlflow):
            process.terminate()
            process.wait(timeout=30)
    print(f"runlog server exit status on SIGTERM: {runlog.returncode}")


if __name__ == "__main__":
    main()
