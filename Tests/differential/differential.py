"""Differential test: the same stock-mlflow client scenarios (scenarios.py) against `runlog server`
and against a real `mlflow server` (SQLite backend), both on loopback; every read-back and every
error code must agree. Usage: differential.py --runlog PATH [--python PATH]."""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, process, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"server on port {port} did not become healthy in {seconds} s")


def environment(port):
    env = dict(os.environ)
    env.update(MLFLOW_TRACKING_URI=f"http://127.0.0.1:{port}", MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true",
               MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="60")
    return env


def run_scenarios(python, port, output):
    result = subprocess.run([python, os.path.join(HERE, "scenarios.py"), output], env=environment(port),
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"scenarios failed against port {port}:\n{result.stderr[-3000:]}")
    with open(output) as f:
        return json.load(f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runlog", required=True)
    parser.add_argument("--python", default=sys.executable)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="runlog-differential-")
    processes = []
    try:
        runlog_port, mlflow_port = free_port(), free_port()
        processes.append(subprocess.Popen(
            [args.runlog, "server", "--store", f"{work}/runlog-store", "--port", str(runlog_port),
             "--durability", "never"], stdout=subprocess.DEVNULL, stderr=open(f"{work}/runlog.log", "w")))
        mlflow = os.path.join(os.path.dirname(args.python), "mlflow")
        processes.append(subprocess.Popen(
            [mlflow, "server", "--backend-store-uri", f"sqlite:///{work}/mlflow.db", "--artifacts-destination",
             f"{work}/mlflow-artifacts", "--host", "127.0.0.1", "--port", str(mlflow_port), "--workers", "1"],
            env=environment(mlflow_port), stdout=subprocess.DEVNULL, stderr=open(f"{work}/mlflow.log", "w")))
        wait_healthy(runlog_port, processes[0])
        wait_healthy(mlflow_port, processes[1])
        ours = run_scenarios(args.python, runlog_port, f"{work}/runlog.json")
        theirs = run_scenarios(args.python, mlflow_port, f"{work}/mlflow.json")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    # The one difference by design: MLflow's SQL store clamps +Infinity to the largest double,
    # Runlog keeps it (values round-trip bit-exactly).
    odd = theirs.get("fluent", {}).get("odd", [])
    for point in odd:
        if point[2] == 1.7976931348623157e308:
            point[2] = "inf"
    passed = failed = 0
    for name in sorted(set(ours) | set(theirs)):
        a, b = ours.get(name), theirs.get(name)
        if isinstance(a, dict) and "exception" in a and a == b:
            # Both raised the same: the scenario itself is broken, and it compared nothing.
            failed += 1
            print(f"FAIL  {name}: the scenario raised against both servers: {a['exception']}")
        elif a == b:
            passed += 1
            print(f"ok    {name}")
        else:
            failed += 1
            print(f"FAIL  {name}\n  runlog: {json.dumps(a, sort_keys=True)[:2000]}\n  mlflow: {json.dumps(b, sort_keys=True)[:2000]}")
    if processes[0].returncode not in (0, -15):
        failed += 1
        print(f"FAIL  runlog server exited with {processes[0].returncode} on SIGTERM (expected 0)")
    print(f"differential: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
