"""The web UI's figures (BENCHMARKS.md, "The web UI"): time to answer each screen on big data, the
bytes each sends, and Chromium's time to first paint of a 100-run compare.

Fills a fresh store through the REST API of `runlog server` (release build): an experiment of
10,000 runs (5 params, 10 metrics each), a run with a 1,000,000-point metric, and 100 runs of
10,000 steps; then times GET of each page on a keep-alive loopback connection (median of
--repeat, measured at the client, so it includes reading the whole body), and loads the compare
page in headless Chromium for its first paint.

Usage: bench.py --runlog .build/release/runlog [--repeat 15] [--chromium /usr/bin/chromium]
"""
import argparse
import http.client
import json
import math
import os
import re
import statistics
import subprocess
import tempfile
import time


class Client:
    def __init__(self, port):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method, path, body=None):
        data = None if body is None else json.dumps(body)
        self.connection.request(method, path, body=data, headers={"Content-Type": "application/json"})
        answer = self.connection.getresponse()
        payload = answer.read()
        if answer.status >= 400:
            raise RuntimeError(f"{method} {path}: {answer.status} {payload[:300]!r}")
        return payload

    def api(self, endpoint, body):
        return json.loads(self.request("POST", "/api/2.0/mlflow/" + endpoint, body))

    def timed(self, path, repeat):
        times, size = [], 0
        for _ in range(repeat):
            start = time.perf_counter()
            size = len(self.request("GET", path))
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times), min(times), size


def fill(client):
    start = 1_790_000_000_000
    big = client.api("experiments/create", {"name": "ten-thousand"})["experiment_id"]
    t0 = time.time()
    for n in range(10_000):
        run = client.api("runs/create", {"experiment_id": big, "run_name": f"run-{n}", "start_time": start + n})
        run_id = run["run"]["info"]["run_id"]
        client.api("runs/log-batch", {
            "run_id": run_id,
            "params": [{"key": f"p{k}", "value": str((n * (k + 3)) % 17)} for k in range(5)],
            "metrics": [{"key": f"m{k}", "value": math.sin(n + k), "timestamp": start + n, "step": 0} for k in range(10)],
        })
    print(f"  10,000 runs logged in {time.time() - t0:.0f} s")
    long = client.api("experiments/create", {"name": "long"})["experiment_id"]
    run = client.api("runs/create", {"experiment_id": long, "run_name": "million", "start_time": start})
    million = run["run"]["info"]["run_id"]
    for chunk in range(1000):
        client.api("runs/log-batch", {"run_id": million, "metrics": [
            {"key": "loss", "value": 1.0 / (1 + s / 1000) + (5.0 if s == 777_777 else 0.0), "timestamp": start + s,
             "step": s} for s in range(chunk * 1000, chunk * 1000 + 1000)]})
    client.api("runs/update", {"run_id": million, "status": "FINISHED", "end_time": start + 1_000_000})
    sweep = client.api("experiments/create", {"name": "sweep"})["experiment_id"]
    compared = []
    for n in range(100):
        run = client.api("runs/create", {"experiment_id": sweep, "run_name": f"lr-{n}", "start_time": start})
        run_id = run["run"]["info"]["run_id"]
        for chunk in range(10):
            client.api("runs/log-batch", {"run_id": run_id, "metrics": [
                {"key": "loss", "value": math.exp(-s / (1000 + 50 * n)) + 0.01 * math.sin(s), "timestamp": start + s,
                 "step": s} for s in range(chunk * 1000, chunk * 1000 + 1000)]})
        client.api("runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": start + 10_000})
        compared.append(run_id)
    print(f"  all logged in {time.time() - t0:.0f} s")
    return big, million, compared


def first_paint(url, chromium):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"]:
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        results = []
        for _ in range(3):
            driver.get("about:blank")
            driver.get(url)
            # Paint entries are read through a buffered observer: they may be queued after load.
            timing = driver.execute_async_script("""
                const done = arguments[arguments.length - 1];
                const nav = performance.getEntriesByType('navigation')[0];
                const answer = (paint) => done({response: nav.responseEnd, paint: paint, load: nav.loadEventEnd});
                new PerformanceObserver((list) => {
                  const entry = list.getEntries().find((e) => e.name === 'first-contentful-paint');
                  if (entry) answer(entry.startTime);
                }).observe({type: 'paint', buffered: true});
                setTimeout(() => answer(-1), 3000);""")
            results.append(timing)
        return results
    finally:
        driver.quit()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runlog", required=True)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--keep", help="fill this store directory and leave it (for profiling)")
    args = parser.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="runlog-ui-bench-")
    server = subprocess.Popen([args.runlog, "server", "--store", os.path.join(work, "store"), "--port", "0",
                               "--durability", "never"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(re.search(r":(\d+) ", server.stdout.readline()).group(1))
        client = Client(port)
        big, million, compared = fill(client)
        rows = []
        sweep = "&".join(f"runs={r}" for r in compared)
        for label, path in [
            ("experiments list", "/"),
            ("runs table, 10,000 runs (100 shown, newest first)", f"/experiments/{big}"),
            ("runs table, 10,000 runs sorted by a metric", f"/experiments/{big}?sort=metrics.m3&dir=asc"),
            ("runs table, 10,000 runs, filter + sort", f"/experiments/{big}?filter=metrics.m1+%3E+0+and+params.p2+%3D+%275%27&sort=metrics.m3"),
            ("chart of a 1,000,000-point metric (SVG)", f"/chart?runs={million}&metric=loss"),
            ("run page, 1,000,000-point metric", f"/runs/{million}"),
            ("compare, 100 runs x 10,000 steps, one chart", f"/compare?{sweep}&metrics=loss"),
            ("chart, 100 runs x 10,000 steps (SVG)", f"/chart?{sweep}&metric=loss&w=1100&h=280"),
            ("stylesheet", "/static/ui.css"),
            ("script", "/static/ui.js"),
        ]:
            median, best, size = client.timed(path, args.repeat)
            rows.append((label, median, best, size))
        print(f"\n| screen | median ms | best ms | bytes |\n|---|---:|---:|---:|")
        for label, median, best, size in rows:
            print(f"| {label} | {median:.1f} | {best:.1f} | {size:,} |")
        paints = first_paint(f"http://127.0.0.1:{port}/compare?{sweep}&metrics=loss", args.chromium)
        print("\nChromium, compare of 100 runs x 10,000 steps (3 loads): " + "; ".join(
            f"response end {p['response']:.0f} ms, first contentful paint {p['paint']:.0f} ms, load {p['load']:.0f} ms"
            for p in paints))
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not args.keep:
            subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
