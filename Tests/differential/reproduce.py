"""`runlog run` / `runlog rerun` / `runlog compare --reproduced` with a Python child that logs
through the stock mlflow client (the virtualenv's pinned version), into the run `runlog run`
started for it.

    reproduce.py --runlog .build/debug/runlog --python .build-venv/bin/python

Checks: a seeded script runs (its params, metrics and system metrics land in one run, FINISHED),
its rerun REPRODUCED; a script seeded from the clock DIFFERS and names its first differing step;
a changed input makes the rerun refuse and name it; pip freeze and the Python version are
recorded. Exits 1 on the first failed check.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

TRAIN = r'''
import random, sys, time
import mlflow
seed = time.time_ns() if sys.argv[1] == "clock" else int(sys.argv[1])
data = open("data.csv").read()
rng = random.Random(seed)
with mlflow.start_run():
    mlflow.log_params({"lr": 0.01, "data_bytes": len(data)})
    w = 1.0
    for step in range(200):
        w -= 0.01 * (w - rng.random())
        mlflow.log_metric("train/loss", w * w, step=step)
    mlflow.log_metrics({"val/loss": w}, step=199)
print("trained", flush=True)
'''


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runlog", required=True)
    parser.add_argument("--python", required=True)
    args = parser.parse_args()
    runlog = os.path.abspath(args.runlog)
    python = os.path.abspath(args.python)
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true", MLFLOW_HTTP_REQUEST_MAX_RETRIES="0")
    env.pop("RUNLOG_STORE", None)
    with tempfile.TemporaryDirectory(prefix="runlog-reproduce-") as work:
        with open(f"{work}/train.py", "w") as file:
            file.write(TRAIN)
        with open(f"{work}/data.csv", "w") as file:
            file.write("1,2,3\n")

        def call(*arguments, expect=0):
            result = subprocess.run([runlog, *arguments], cwd=work, env=env, capture_output=True, text=True,
                                    timeout=300)
            if result.returncode != expect:
                sys.exit(f"FAIL: runlog {' '.join(arguments)} exited {result.returncode}, not {expect}\n"
                         f"{result.stdout}\n{result.stderr}")
            return result

        def run_id(result):
            match = re.search(r"runlog run: run ([0-9a-f]{32})", result.stderr)
            if not match:
                sys.exit(f"FAIL: no run id in\n{result.stderr}")
            return match.group(1)

        def check(condition, what):
            if not condition:
                sys.exit(f"FAIL: {what}")
            print(f"ok  {what}")

        first = call("run", "--experiment", "py", "--input", "data=data.csv", "--system-metrics", "0.5", "--",
                     python, "train.py", "7")
        original = run_id(first)
        check("trained" in first.stdout, "the child's output reaches the terminal")
        shown = call("show", original).stdout
        check("FINISHED" in shown, "the run is FINISHED")
        for expected in ["lr", "data_bytes", "train/loss", "val/loss", "system/cpu_utilization_percentage",
                         "python_version", "pip_freeze", "runlog/pip-freeze.txt", "runlog/stdout.txt",
                         "dataset:data"]:
            check(expected in shown, f"the run holds {expected}")
        rerun = call("rerun", original)
        again = run_id(rerun)
        check("DIFFERS" not in rerun.stdout and "pip freeze" in rerun.stdout, "the rerun checks pip freeze: same")
        verdict = call("compare", original, again, "--reproduced")
        check(verdict.stdout.startswith("REPRODUCED") and "2 metrics, 201 points" in verdict.stdout,
              "the rerun REPRODUCED: " + verdict.stdout.splitlines()[0])

        clock = run_id(call("run", "--experiment", "py", "--system-metrics", "0", "--", python, "train.py", "clock"))
        replay = run_id(call("rerun", clock))
        differs = call("compare", clock, replay, "--reproduced", expect=1)
        check(differs.stdout.startswith("DIFFERS") and "metric train/loss: first differs at step 0" in differs.stdout,
              "a clock-seeded script DIFFERS at its first step")

        with open(f"{work}/data.csv", "a") as file:
            file.write("4\n")
        refused = call("rerun", original, expect=1)
        check("input data differs" in refused.stderr, "a changed input stops the rerun and is named")
    print("reproduce: all checks passed")


if __name__ == "__main__":
    main()
