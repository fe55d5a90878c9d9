"""The web UI in a real browser: headless Chromium (Debian's, through chromium-driver) driven by
Selenium against `runlog server` on loopback. Walks the four screens as a user does — experiments
list, an experiment's runs table (filter, sort, select), compare (x-axis, zoom, hover, legend), a
run page and an artifact — checks the DOM at each step, that the console shows no error, that
markup in a run's name stays text, and that a RUNNING run's chart gains points without a reload.
Saves a screenshot of each screen in --screenshots.

Usage: browser.py --runlog PATH --screenshots DIR [--chromium PATH] [--chromedriver PATH]"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import (NoAlertPresentException, NoSuchElementException,
                                        StaleElementReferenceException, TimeoutException, WebDriverException)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

HOSTILE = "<script>alert(1)</script>"
GIT_COMMIT = "3f9c2e7a1b8d4c6e0f5a2b9c8d7e6f5a4b3c2d1e"
DATASET_DIGEST = "9b1c4e2f"


class Server:
    """`runlog server --port 0` on a fresh store; the port is read from its banner."""

    def __init__(self, runlog, store):
        # The request log goes to a file: this pipe is read only up to the banner, and a full pipe would block.
        self.process = subprocess.Popen([runlog, "server", "--store", store, "--port", "0", "--durability", "never",
                                         "--access-log", os.path.join(os.path.dirname(store), "access.log")],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.time() + 60
        self.base = None
        while time.time() < deadline and self.base is None:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"runlog server exited with {self.process.wait()}")
            match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if match:
                self.base = f"http://127.0.0.1:{match.group(1)}"
        if self.base is None:
            raise RuntimeError("runlog server printed no address in 60 s")

    def call(self, path, body=None, method=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method or ("POST" if data else "GET"),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                text = answer.read().decode()
                return json.loads(text) if text.startswith("{") else text
        except urllib.error.HTTPError as error:
            raise RuntimeError(f"{path}: {error.code} {error.read().decode()[:500]}") from None

    def api(self, endpoint, body):
        return self.call("/api/2.0/mlflow/" + endpoint, body)

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def fill(server):
    """An experiment of 4 runs (lr × batch) with smooth loss and accuracy curves, a text artifact,
    and a run whose name is markup."""
    experiment = server.api("experiments/create", {"name": "mnist-sweep"})["experiment_id"]
    start = 1_790_000_000_000
    runs = []
    for index, (lr, batch) in enumerate([(0.1, 32), (0.01, 32), (0.01, 64), (0.001, 64)]):
        run = server.api("runs/create", {"experiment_id": experiment, "run_name": f"lr={lr} batch={batch}",
                                         "start_time": start + index * 1000, "user_id": "ada"})["run"]["info"]["run_id"]
        metrics = []
        for step in range(2000):
            t = start + index * 1000 + step * 50
            loss = 2.3 * math.exp(-step / (300 + 900 * index)) + 0.05 * math.sin(step / 7.0) ** 2 + 0.02 * index
            if index == 0 and step == 1234:
                loss = 9.0  # a one-step spike the chart must keep
            metrics.append({"key": "train/loss", "value": loss, "timestamp": t, "step": step})
            if step % 20 == 0:
                metrics.append({"key": "val/accuracy", "value": 0.5 + 0.45 * (1 - math.exp(-step / (200 + 300 * index))),
                                "timestamp": t, "step": step})
        for chunk in range(0, len(metrics), 900):
            body = {"run_id": run, "metrics": metrics[chunk:chunk + 900]}
            if chunk == 0:
                body["params"] = [{"key": "lr", "value": str(lr)}, {"key": "batch_size", "value": str(batch)},
                                  {"key": "optimizer", "value": "adam"}]
                body["tags"] = [{"key": "team", "value": "vision"}]
                if index == 0:  # what the stock client records of where a run came from
                    body["tags"] += [{"key": "mlflow.source.name", "value": "train.py"},
                                     {"key": "mlflow.source.type", "value": "LOCAL"},
                                     {"key": "mlflow.source.git.commit", "value": GIT_COMMIT}]
            server.api("runs/log-batch", body)
        if index == 0:
            server.api("runs/log-inputs", {"run_id": run, "datasets": [{
                "tags": [{"key": "mlflow.data.context", "value": "training"}],
                "dataset": {"name": "mnist-train", "digest": DATASET_DIGEST, "source_type": "local",
                            "source": "/data/mnist/train.npz", "schema": "", "profile": ""}}]})
        request = urllib.request.Request(
            f"{server.base}/api/2.0/mlflow-artifacts/artifacts/{experiment}/{run}/artifacts/notes/summary.txt",
            data=f"lr {lr}, batch {batch}: converged\n".encode(), method="PUT")
        urllib.request.urlopen(request, timeout=30).read()
        server.api("runs/update", {"run_id": run, "status": "FINISHED", "end_time": start + index * 1000 + 100_000})
        runs.append(run)
    hostile = server.api("runs/create", {"experiment_id": experiment, "run_name": HOSTILE,
                                         "start_time": start + 9000})["run"]["info"]["run_id"]
    server.api("runs/log-batch", {"run_id": hostile, "params": [{"key": "lr", "value": HOSTILE}],
                                  "metrics": [{"key": "train/loss", "value": 1.0, "timestamp": start + 9000, "step": 0}]})
    server.api("runs/update", {"run_id": hostile, "status": "FAILED", "end_time": start + 9500})
    return experiment, runs, hostile


def browser(chromium, chromedriver):
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--disable-extensions", "--no-first-run"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(chromedriver), options=options)


class Check:
    def __init__(self, driver, screenshots, small):
        self.driver = driver
        self.screenshots = screenshots
        self.small = small
        self.steps = 0

    def wait(self, condition, what, seconds=15):
        # Live pages replace their charts and rows in place, and a submitted form replaces the
        # page, so an element found by one poll can be gone when its text is read: that poll
        # fails and the next one looks again. Chromium reports a node of a page being replaced
        # as "does not belong to the document", not as a stale element.
        def poll(d):
            try:
                return condition(d)
            except WebDriverException as error:
                if "does not belong to the document" in (error.msg or ""):
                    return False
                raise
        try:
            return WebDriverWait(self.driver, seconds, poll_frequency=0.1,
                                 ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
                                 ).until(poll)
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {what} (at {self.driver.current_url})")

    def console_clean(self, where):
        errors = [entry for entry in self.driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
        assert not errors, f"console errors on {where}: {errors}"

    def shot(self, name, full_height=None):
        if full_height:
            self.driver.set_window_size(1280, full_height)
        path = os.path.join(self.screenshots, name)
        self.driver.save_screenshot(path)
        if self.small:
            # The README's copies: a 256-colour palette keeps them small and sharp.
            from PIL import Image
            Image.open(path).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
        if full_height:
            self.driver.set_window_size(1280, 900)
        return path

    def ok(self, what):
        self.steps += 1
        print(f"  ok {self.steps:2d} {what}")


def walk(server, driver, screenshots, small):
    check = Check(driver, screenshots, small)
    experiment, runs, hostile = fill(server)
    base = server.base

    # Navigation: the experiments list.
    driver.get(base + "/")
    link = check.wait(lambda d: d.find_element(By.LINK_TEXT, "mnist-sweep"), "the experiment in the list")
    rows = driver.find_elements(By.CSS_SELECTOR, "#experiments tbody tr")
    assert any("mnist-sweep" in row.text and " 5 " in f" {row.text} " for row in rows), [r.text for r in rows]
    check.console_clean("the experiments list")
    check.shot("experiments.png")
    check.ok("experiments list shows mnist-sweep with 5 runs")

    # The experiment page: filter, sort, select.
    link.click()
    check.wait(lambda d: d.find_element(By.ID, "runs"), "the runs table")
    assert driver.find_element(By.ID, "count").text == "5 runs", driver.find_element(By.ID, "count").text
    box = driver.find_element(By.ID, "filter")
    box.send_keys("params.lr = '0.01' and metrics.train/loss.min < 1")
    box.send_keys(Keys.ENTER)
    check.wait(lambda d: d.find_element(By.ID, "count").text == "2 runs", "the filter to leave 2 runs")
    names = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "#runs tbody td:nth-child(3) a")]
    assert sorted(names) == ["lr=0.01 batch=32", "lr=0.01 batch=64"], names
    check.ok("a filter typed in the box narrows the table to 2 runs")
    box = driver.find_element(By.ID, "filter")
    box.clear()
    box.send_keys("metrics.loss <")
    box.send_keys(Keys.ENTER)
    alert = check.wait(lambda d: d.find_element(By.ID, "filter-error"), "the filter's syntax error")
    assert "column" in alert.text, alert.text
    check.ok("a bad filter shows its syntax error at its column")
    box = driver.find_element(By.ID, "filter")
    box.clear()
    box.send_keys(Keys.ENTER)
    check.wait(lambda d: d.find_element(By.ID, "count").text == "5 runs", "all runs back")
    header = driver.find_element(By.XPATH, "//table[@id='runs']//th[a[starts-with(normalize-space(.), 'train/loss')]]/a")
    header.click()
    check.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#runs th[aria-sort]")
               and "train/loss" in d.find_element(By.CSS_SELECTOR, "#runs th[aria-sort]").text, "the sort by train/loss")
    column = [th.text for th in driver.find_elements(By.CSS_SELECTOR, "#runs thead th")].index(
        driver.find_element(By.CSS_SELECTOR, "#runs th[aria-sort]").text)
    values = [float(td.text) for td in driver.find_elements(By.CSS_SELECTOR, f"#runs tbody td:nth-child({column + 1})")
              if td.text]
    descending = driver.find_element(By.CSS_SELECTOR, "#runs th[aria-sort]").get_attribute("aria-sort") == "descending"
    assert values == sorted(values, reverse=descending), values
    check.ok(f"sorting by train/loss orders the rows ({'descending' if descending else 'ascending'})")
    check.console_clean("the experiment page")
    check.shot("experiment.png")
    for run in runs[:2]:
        driver.find_element(By.CSS_SELECTOR, f"input[type=checkbox][value='{run}']").click()
    driver.find_element(By.CSS_SELECTOR, "#runs-form button.primary").click()

    # Compare: two runs overlaid.
    check.wait(lambda d: "/compare" in d.current_url and d.find_elements(By.CSS_SELECTOR, "svg.chart"), "the compare page")
    legend = driver.find_elements(By.CSS_SELECTOR, "ul.legend button[data-run]")
    assert len(legend) == 2, len(legend)
    charts = driver.find_elements(By.CSS_SELECTOR, "figure[data-chart] svg.chart")
    assert len(charts) == 2, len(charts)
    assert driver.find_elements(By.CSS_SELECTOR, "#params-table tr.differs"), "no differing param row"
    check.ok("compare overlays 2 runs in 2 charts and marks differing params")
    check.console_clean("the compare page")
    check.shot("compare.png", full_height=1700)
    Select(driver.find_element(By.CSS_SELECTOR, "form.controls select[name=x]")).select_by_value("time")
    check.wait(lambda d: "x=time" in d.current_url
               and d.find_element(By.CSS_SELECTOR, "figure[data-chart] svg.chart").get_attribute("data-axis") == "time",
               "the x-axis to switch to time")
    check.ok("the x-axis switches to wall time")
    Select(driver.find_element(By.CSS_SELECTOR, "form.controls select[name=x]")).select_by_value("step")
    check.wait(lambda d: "x=step" in d.current_url, "the x-axis back to step")
    svg = driver.find_element(By.CSS_SELECTOR, "figure[data-chart] svg.chart")
    before = (svg.get_attribute("data-x0"), svg.get_attribute("data-x1"))
    width = svg.size["width"]
    ActionChains(driver).move_to_element_with_offset(svg, int(-width * 0.2), 0).click_and_hold() \
        .move_by_offset(int(width * 0.25), 0).release().perform()
    check.wait(lambda d: "from=" in d.current_url and "to=" in d.current_url, "the zoom range in the URL")
    check.wait(lambda d: (d.find_element(By.CSS_SELECTOR, "figure[data-chart] svg.chart").get_attribute("data-x0"),
                          d.find_element(By.CSS_SELECTOR, "figure[data-chart] svg.chart").get_attribute("data-x1")) != before,
               "the chart to redraw the zoomed range")
    zoomed = driver.find_element(By.CSS_SELECTOR, "figure[data-chart] svg.chart")
    low, high = int(zoomed.get_attribute("data-x0")), int(zoomed.get_attribute("data-x1"))
    assert 0 < low < high < 2000 and high - low < 1000, (low, high)
    check.ok(f"dragging across a chart zooms every chart to steps {low}…{high}, asked of the server")
    ActionChains(driver).move_to_element(zoomed).perform()
    readout = check.wait(lambda d: next((r for r in d.find_elements(By.CSS_SELECTOR, ".readout") if r.is_displayed()), None),
                         "the hover readout")
    assert "step" in readout.text and "lr=0.1 batch=32" in readout.text, readout.text
    check.ok("hovering shows step and value of each run: " + readout.text.replace("\n", " | ")[:90])
    driver.find_element(By.CSS_SELECTOR, f"ul.legend button[data-run='{runs[0]}']").click()
    check.wait(lambda d: all("off" in g.get_attribute("class")
                             for g in d.find_elements(By.CSS_SELECTOR, f"svg.chart .series[data-run='{runs[0]}']")),
               "the legend to hide the run")
    check.ok("the legend hides a run's curves on every chart")
    check.console_clean("compare after zoom")

    # The run page and an artifact.
    driver.get(f"{base}/runs/{runs[0]}")
    check.wait(lambda d: d.find_element(By.ID, "reproduce"), "the run page")
    sections = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "section h2")]
    for wanted in ["Run", "Params (3)", "Tags", "Reproducibility", "Artifacts (1)", "Metrics (2)"]:
        assert any(s.startswith(wanted) for s in sections), (wanted, sections)
    groups = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "h3.group")]
    assert groups == ["train", "val"], groups
    crumbs = driver.find_element(By.CSS_SELECTOR, "nav.crumbs").text
    assert "mnist-sweep" in crumbs and "lr=0.1 batch=32" in crumbs, crumbs
    assert "converged" in driver.find_element(By.CSS_SELECTOR, "figure.preview pre").text
    reproduce = driver.find_element(By.XPATH, "//section[h2[@id='reproduce']]").text
    assert GIT_COMMIT in reproduce and "train.py" in reproduce, reproduce
    assert "mnist-train" in reproduce and DATASET_DIGEST in reproduce and "training" in reproduce, reproduce
    check.ok("the run page has every section, its source commit and dataset digest, charts grouped train / val, "
             "breadcrumbs, a text preview")
    check.console_clean("the run page")
    check.shot("run.png", full_height=1500)
    driver.get(f"{base}/runs/{runs[0]}/artifacts/notes/summary.txt")
    body = check.wait(lambda d: d.find_element(By.TAG_NAME, "body").text, "the artifact")
    assert "lr 0.1, batch 32: converged" in body, body
    check.ok("the artifact opens")

    # Markup in data is text, everywhere; nothing runs.
    for path in [f"/runs/{hostile}", f"/experiments/{experiment}", f"/compare?runs={hostile}&runs={runs[1]}"]:
        driver.get(base + path)
        check.wait(lambda d: d.find_element(By.TAG_NAME, "main"), path)
        try:
            driver.switch_to.alert
            raise AssertionError(f"an alert ran on {path}")
        except NoAlertPresentException:
            pass
        assert HOSTILE in driver.find_element(By.TAG_NAME, "main").text, path
        assert not driver.find_elements(By.XPATH, "//main//script"), path
        check.console_clean(path)
    check.ok("a run named <script>alert(1)</script> shows as text on run, table and compare pages")

    # Live: a RUNNING run's chart gains points while the page is open.
    live = server.api("runs/create", {"experiment_id": experiment, "run_name": "live"})["run"]["info"]["run_id"]
    now = int(time.time() * 1000)
    server.api("runs/log-batch", {"run_id": live, "metrics": [
        {"key": "train/loss", "value": 1.0 / (s + 1), "timestamp": now + s, "step": s} for s in range(10)]})
    driver.get(f"{base}/runs/{live}")
    caption = check.wait(lambda d: d.find_element(By.CSS_SELECTOR, "figure.chart-box figcaption .quiet"), "the live chart")
    assert caption.text == "10 points", caption.text
    driver.execute_script("window.__notReloaded = true;")
    server.api("runs/log-batch", {"run_id": live, "metrics": [
        {"key": "train/loss", "value": 1.0 / (s + 1), "timestamp": now + s, "step": s} for s in range(10, 60)]})
    check.wait(lambda d: d.find_element(By.CSS_SELECTOR, "figure.chart-box figcaption .quiet").text == "60 points",
               "the live chart to gain 50 points", seconds=20)
    assert driver.execute_script("return window.__notReloaded === true;"), "the page reloaded"
    check.ok("a RUNNING run's chart gains 50 points without a reload")

    # ... and its row in the runs table follows it: the latest loss, then FINISHED.
    driver.get(f"{base}/experiments/{experiment}?cols=metrics.train/loss")
    row = f"#runs tbody tr[data-run='{live}']"
    check.wait(lambda d: d.find_elements(By.CSS_SELECTOR, row), "the live run's row")
    assert driver.find_element(By.CSS_SELECTOR, row + " td.num:last-child").text == "0.0166667"
    driver.execute_script("window.__notReloaded = true;")
    server.api("runs/log-batch", {"run_id": live, "metrics": [
        {"key": "train/loss", "value": 0.001, "timestamp": now + 100, "step": 100}]})
    check.wait(lambda d: d.find_element(By.CSS_SELECTOR, row + " td.num:last-child").text == "0.001",
               "the row's train/loss to show the new value", seconds=20)
    server.api("runs/update", {"run_id": live, "status": "FINISHED"})
    check.wait(lambda d: "FINISHED" in d.find_element(By.CSS_SELECTOR, row + " .badge").text,
               "the row's badge to turn FINISHED", seconds=20)
    assert driver.execute_script("return window.__notReloaded === true;"), "the page reloaded"
    check.ok("its row in the runs table shows the new loss, then FINISHED, without a reload")
    check.console_clean("the live pages")

    # The registry: a logged model of the first run, registered under a name that is markup.
    model = server.api("logged-models", {"experiment_id": experiment, "name": "model", "source_run_id": runs[0],
                                         "params": [{"key": "lr", "value": "0.1"}]})["model"]["info"]["model_id"]
    request = urllib.request.Request(
        f"{base}/api/2.0/mlflow-artifacts/artifacts/{experiment}/models/{model}/artifacts/MLmodel",
        data=b"flavors:\n  sklearn: {}\n", method="PUT")
    urllib.request.urlopen(request, timeout=30).read()
    server.call(f"/api/2.0/mlflow/logged-models/{model}", {"model_id": model, "status": "LOGGED_MODEL_READY"},
                method="PATCH")
    server.api("runs/outputs", {"run_id": runs[0], "models": [{"model_id": model, "step": 0}]})
    server.api("registered-models/create", {"name": HOSTILE, "description": "scores churn"})
    server.api("model-versions/create", {"name": HOSTILE, "source": f"models:/{model}", "model_id": model})
    server.api("registered-models/alias", {"name": HOSTILE, "alias": "champion", "version": "1"})
    driver.get(base + "/")
    check.wait(lambda d: d.find_element(By.LINK_TEXT, "Models"), "the Models link in the header").click()
    check.wait(lambda d: d.find_element(By.LINK_TEXT, HOSTILE), "the registered model, its name as text").click()
    row = check.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#versions tbody tr"), "the version row")
    assert "Version 1" in row.text and "@champion" in row.text, row.text
    check.shot("models.png")
    row.find_element(By.LINK_TEXT, model).click()
    check.wait(lambda d: d.find_element(By.ID, "files"), "the logged model's files")
    assert driver.find_element(By.LINK_TEXT, "MLmodel").get_attribute("href").endswith(f"/logged-models/{model}/files/MLmodel")
    assert "ready" in driver.find_element(By.CSS_SELECTOR, ".heading .badge").text
    driver.get(f"{base}/runs/{runs[0]}")
    check.wait(lambda d: d.find_element(By.ID, "logged-models"), "the run's logged models")
    assert driver.find_element(By.CSS_SELECTOR, f"a[href='/logged-models/{model}']").text == "model"
    check.console_clean("the model pages")
    check.ok("Models: the registered model (a markup name, as text) with its version, alias and logged model, "
             "whose files download; the run page lists the model")
    return check.steps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runlog", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--small", action="store_true", help="palette PNGs, for the README (needs Pillow)")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    work = tempfile.mkdtemp(prefix="runlog-browser-")
    server = Server(args.runlog, os.path.join(work, "store"))
    driver = None
    try:
        driver = browser(args.chromium, args.chromedriver)
        driver.set_page_load_timeout(30)
        print(f"browser test: {server.base}, Chromium {driver.capabilities.get('browserVersion')}")
        steps = walk(server, driver, args.screenshots, args.small)
        print(f"browser test: {steps} checks passed; screenshots in {args.screenshots}")
    finally:
        if driver:
            driver.quit()
        server.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"browser test FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
