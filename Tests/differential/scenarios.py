"""The client side of the differential test: runs the stock mlflow client against the server at
MLFLOW_TRACKING_URI and prints what it read back, with ids and times left out, as one JSON object.
Every scenario reads back through the client, so two servers agree only if the client sees the
same thing from both."""
import json
import math
import os
import sys
import tempfile

import mlflow
import numpy as np
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag
from mlflow.exceptions import MlflowException


def value(x):
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return repr(x)
    return x


def user_tags(tags):
    return {k: v for k, v in tags.items() if not k.startswith("mlflow.") or k == "mlflow.runName"}


def history(client, run_id, key):
    points = client.get_metric_history(run_id, key)
    return sorted((p.step, p.timestamp, value(p.value)) for p in points)


def error_code(call):
    try:
        call()
    except MlflowException as e:
        return e.error_code
    return "no error"


def fluent():
    mlflow.set_experiment("fluent")
    with mlflow.start_run(run_name="r1") as run:
        mlflow.log_param("lr", 0.01)
        mlflow.log_params({"batch_size": 32, "epochs": 5, "optimizer": "adam"})
        mlflow.set_tag("team", "ml")
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=1_700_000_000_000 + step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=4, timestamp=1_700_000_000_100)
        mlflow.log_metric("odd", float("nan"), step=0, timestamp=1)
        mlflow.log_metric("odd", float("inf"), step=1, timestamp=1)
        mlflow.log_metric("odd", 0.1 + 0.2, step=2, timestamp=1)
        mlflow.log_metric("odd", 5e-324, step=3, timestamp=1)
    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    return {
        "status": got.info.status,
        "lifecycle": got.info.lifecycle_stage,
        "name": got.info.run_name,
        "params": got.data.params,
        "tags": user_tags(got.data.tags),
        "metrics": {k: value(v) for k, v in got.data.metrics.items()},
        "loss": history(client, run.info.run_id, "loss"),
        "odd": history(client, run.info.run_id, "odd"),
        "artifact_uri_scheme": got.info.artifact_uri.split(":")[0],
        "has_end_time": got.info.end_time is not None,
    }


def async_logging():
    mlflow.set_experiment("async")
    mlflow.config.enable_async_logging(True)
    try:
        with mlflow.start_run(run_name="async") as run:
            mlflow.log_param("p", 1)
            for step in range(2000):
                mlflow.log_metric("loss", 1.0 / (step + 1), step=step, timestamp=1_700_000_000_000 + step)
            mlflow.set_tag("t", "v")
    finally:
        mlflow.config.enable_async_logging(False)
    client = MlflowClient()
    points = history(client, run.info.run_id, "loss")
    got = client.get_run(run.info.run_id)
    return {"points": len(points), "steps": [p[0] for p in points] == list(range(2000)),
            "latest": value(got.data.metrics["loss"]), "params": got.data.params, "tags": user_tags(got.data.tags)}


def client_batch():
    client = MlflowClient()
    experiment = client.create_experiment("client-batch")
    run = client.create_run(experiment)
    metrics = [Metric(f"m{i % 25}", float(i), 1_700_000_000_000 + i, i // 25) for i in range(2500)]
    params = [Param(f"p{i}", str(i)) for i in range(150)]
    tags = [RunTag(f"t{i}", f"v{i}") for i in range(120)]
    client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
    client.set_terminated(run.info.run_id, status="KILLED")
    got = client.get_run(run.info.run_id)
    return {
        "generated_name": bool(got.info.run_name) and got.data.tags.get("mlflow.runName") == got.info.run_name,
        "params": len(got.data.params), "tags": len(user_tags(got.data.tags)) - 1,
        "metric_keys": len(got.data.metrics), "m7": history(client, run.info.run_id, "m7")[-3:],
        "status": got.info.status,
    }


def search():
    client = MlflowClient()
    experiment = client.create_experiment("search")
    for i, lr in enumerate(["0.1", "0.01", "0.001", "0.0001"]):
        run = client.create_run(experiment, run_name=f"lr={lr}", start_time=1_700_000_000_000 + i)
        client.log_param(run.info.run_id, "lr", lr)
        client.log_metric(run.info.run_id, "loss", 0.2 * i, timestamp=1, step=0)
        client.set_tag(run.info.run_id, "phase", "a" if i % 2 else "b")
    names = lambda runs: [r.info.run_name for r in runs]
    first = client.search_runs([experiment], "metrics.loss < 0.5", order_by=["metrics.loss ASC"])
    second = client.search_runs([experiment], "params.lr = '0.01' and tags.phase = 'a'")
    third = client.search_runs([experiment], "", order_by=["params.lr DESC"], max_results=2)
    default = client.search_runs([experiment])
    victim = first[0].info.run_id
    client.delete_run(victim)
    after_delete = client.search_runs([experiment])
    deleted = client.search_runs([experiment], run_view_type=2)
    stage = client.get_run(victim).info.lifecycle_stage
    client.restore_run(victim)
    return {
        "filter_order": names(first), "and": names(second), "limit": names(third), "default": names(default),
        "after_delete": names(after_delete), "deleted_only": names(deleted), "stage": stage,
        "restored": client.get_run(victim).info.lifecycle_stage,
        "experiments": sorted(e.name for e in client.search_experiments()),
        "by_name": client.get_experiment_by_name("search").name,
        "missing_by_name": client.get_experiment_by_name("nope") is None,
    }


def inputs():
    mlflow.set_experiment("inputs")
    with mlflow.start_run() as run:
        dataset = mlflow.data.from_numpy(np.arange(10, dtype=np.float64).reshape(5, 2), name="toy", source="/data/toy.npy")
        mlflow.log_input(dataset, context="training")
    got = MlflowClient().get_run(run.info.run_id)
    return [
        {"name": d.dataset.name, "digest": d.dataset.digest, "source_type": d.dataset.source_type,
         "source": d.dataset.source, "tags": {t.key: t.value for t in d.tags}}
        for d in got.inputs.dataset_inputs
    ]


def artifacts():
    mlflow.set_experiment("artifacts")
    directory = tempfile.mkdtemp()
    with open(os.path.join(directory, "model.bin"), "wb") as f:
        f.write(bytes(range(256)) * 1000)
    with mlflow.start_run() as run:
        mlflow.log_text("hello", "notes.txt")
        mlflow.log_dict({"x": 1}, "cfg/conf.json")
        mlflow.log_artifact(os.path.join(directory, "model.bin"), artifact_path="weights")
    client = MlflowClient()
    top = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run.info.run_id)]
    nested = [(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run.info.run_id, "weights")]
    out = tempfile.mkdtemp()
    text = open(client.download_artifacts(run.info.run_id, "notes.txt", out)).read()
    config = json.load(open(client.download_artifacts(run.info.run_id, "cfg/conf.json", out)))
    weights = open(client.download_artifacts(run.info.run_id, "weights/model.bin", out), "rb").read()
    return {"top": top, "nested": nested, "text": text, "config": config, "weights": len(weights),
            "weights_ok": weights == bytes(range(256)) * 1000}


def errors():
    client = MlflowClient()
    experiment = client.create_experiment("errors")
    run = client.create_run(experiment)
    client.log_param(run.info.run_id, "lr", "0.01")
    return {
        "unknown_run": error_code(lambda: client.get_run("0" * 32)),
        "param_changed": error_code(lambda: client.log_param(run.info.run_id, "lr", "0.02")),
        "bad_filter": error_code(lambda: client.search_runs([experiment], "metrics.loss <<< 1")),
        "duplicate_experiment": error_code(lambda: client.create_experiment("errors")),
        "unknown_experiment": error_code(lambda: client.get_experiment("999999")),
        "too_many_metrics": error_code(lambda: client._tracking_client.store.log_batch(
            run.info.run_id, metrics=[Metric("m", 1.0, 1, i) for i in range(1001)], params=[], tags=[])),
    }


def toy_data():
    from sklearn.datasets import make_classification
    return make_classification(n_samples=200, n_features=5, random_state=0)


def models():
    """log_model, then load_model through every kind of URI, and the registry around it."""
    from sklearn.linear_model import LogisticRegression
    X, y = toy_data()
    mlflow.set_experiment("models")
    with mlflow.start_run() as run:
        mlflow.log_param("C", 0.5)
        mlflow.log_metric("acc", 0.9, step=0, timestamp=1)
        info = mlflow.sklearn.log_model(LogisticRegression(C=0.5).fit(X, y), name="model", input_example=X[:2])
    client = MlflowClient()
    predict = lambda uri: mlflow.sklearn.load_model(uri).predict(X[:8]).tolist()
    expected = LogisticRegression(C=0.5).fit(X, y).predict(X[:8]).tolist()
    logged = client.get_logged_model(info.model_id)
    result = {
        "runs_uri": predict(f"runs:/{run.info.run_id}/model") == expected,
        "model_uri": predict(info.model_uri) == expected,
        "pyfunc": mlflow.pyfunc.load_model(info.model_uri).predict(X[:8]).tolist() == expected,
        "flavors": sorted(mlflow.models.get_model_info(info.model_uri).flavors),
        "logged": {"name": logged.name, "status": str(logged.status), "params": logged.params,
                   "metrics": [(m.key, m.value, m.step) for m in logged.metrics],
                   "source_run": logged.source_run_id == run.info.run_id},
        "outputs": [o.model_id == info.model_id for o in client.get_run(run.info.run_id).outputs.model_outputs],
        "files": sorted(f.path for f in client.list_logged_model_artifacts(info.model_id)),
        "acc_history": history(client, run.info.run_id, "acc"),
        "search": [m.name for m in client.search_logged_models([run.info.experiment_id], filter_string="name = 'model'")],
    }
    mv = mlflow.register_model(info.model_uri, "churn model")
    client.set_registered_model_alias("churn model", "champion", mv.version)
    client.set_registered_model_tag("churn model", "team", "risk")
    client.set_model_version_tag("churn model", mv.version, "validated", "yes")
    client.update_registered_model("churn model", description="scores churn")
    second = client.create_model_version("churn model", f"runs:/{run.info.run_id}/model", run.info.run_id)
    client.transition_model_version_stage("churn model", second.version, "Staging")
    registered = client.get_registered_model("churn model")
    by_alias = client.get_model_version_by_alias("churn model", "champion")
    result["registry"] = {
        "versions": [mv.version, second.version],
        "alias_load": predict("models:/churn model@champion") == expected,
        "version_load": predict("models:/churn model/1") == expected,
        "aliases": registered.aliases, "tags": registered.tags, "description": registered.description,
        "latest": sorted((v.version, v.current_stage) for v in registered.latest_versions),
        "by_alias": (by_alias.version, by_alias.aliases, by_alias.tags),
        "search": [m.name for m in client.search_registered_models(filter_string="name LIKE 'churn%'")],
        "versions_search": sorted(v.version for v in client.search_model_versions("name = 'churn model'")),
        "download_uri_kind": client.get_model_version_download_uri("churn model", "1").split("/")[-3],
        "duplicate": error_code(lambda: client.create_registered_model("churn model")),
        "missing": error_code(lambda: client.get_registered_model("nope")),
        "reserved_alias": error_code(lambda: client.set_registered_model_alias("churn model", "v1", "1")),
        "missing_alias": error_code(lambda: client.get_model_version_by_alias("churn model", "nope")),
    }
    client.rename_registered_model("churn model", "churn model v2")
    client.delete_model_version("churn model v2", second.version)
    result["after"] = {
        "versions": sorted(v.version for v in client.search_model_versions("name = 'churn model v2'")),
        "old_name": error_code(lambda: client.get_registered_model("churn model")),
    }
    client.delete_registered_model("churn model v2")
    result["deleted"] = [m.name for m in client.search_registered_models()]
    return result


def autolog_sklearn():
    """sklearn autolog with its defaults: a GridSearchCV parent, its child runs, the model."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    X, y = toy_data()
    mlflow.set_experiment("autolog sklearn")
    mlflow.sklearn.autolog()
    try:
        with mlflow.start_run() as run:
            GridSearchCV(LogisticRegression(max_iter=200), {"C": [0.1, 1.0]}, cv=3).fit(X, y)
    finally:
        mlflow.sklearn.autolog(disable=True)
    frame = mlflow.search_runs()
    client = MlflowClient()
    return {
        "runs": len(frame), "status": sorted(frame["status"]),
        "metric_columns": sorted(c for c in frame.columns if c.startswith("metrics.")),
        "best_cv_score": sorted((value(v) for v in frame["metrics.best_cv_score"].tolist()), key=str),
        "children": len(client.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'")),
        "artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id)),
        "loads": mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model").predict(X[:4]).tolist(),
    }


def autolog_lightgbm():
    import lightgbm as lgb
    X, y = toy_data()
    mlflow.set_experiment("autolog lightgbm")
    mlflow.lightgbm.autolog()
    try:
        with mlflow.start_run() as run:
            lgb.train({"objective": "binary", "verbose": -1, "seed": 1}, lgb.Dataset(X, y), num_boost_round=5)
    finally:
        mlflow.lightgbm.autolog(disable=True)
    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    model_id = got.outputs.model_outputs[0].model_id
    return {
        "status": got.info.status, "params": sorted(got.data.params),
        "artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id)),
        "model_files": sorted(f.path for f in client.list_logged_model_artifacts(model_id)),
        "loads": len(mlflow.lightgbm.load_model(f"models:/{model_id}").predict(X[:4])),
    }


SECOND_PROCESS = """
import mlflow
mlflow.set_experiment("Churn Model v2 #1 & ü+")
with mlflow.start_run(run_name="from a second process") as run:
    mlflow.log_metric("val acc:top-1", 0.5, step=1, timestamp=1)
print(run.info.experiment_id)
"""


def names_with_spaces():
    """Names with spaces and other characters MLflow accepts, set from two processes."""
    import subprocess
    mlflow.set_experiment("Churn Model v2 #1 & ü+")
    directory = tempfile.mkdtemp()
    # MLflow's server refuses "#" in a path it lists ("Invalid path"), so it stands in a file name only.
    os.makedirs(os.path.join(directory, "my plots", "a+b & c%"))
    for name in ["loss curve.txt", "a+b & c%/50% ü & more.txt"]:
        with open(os.path.join(directory, "my plots", name), "w") as f:
            f.write(name)
    with mlflow.start_run(run_name="first") as run:
        mlflow.log_metric("val acc:top-1", 0.25, step=0, timestamp=1)
        mlflow.log_artifacts(os.path.join(directory, "my plots"), artifact_path="my plots")
    second = subprocess.run([sys.executable, "-c", SECOND_PROCESS], capture_output=True, text=True, timeout=300)
    client = MlflowClient()
    out = tempfile.mkdtemp()
    downloaded = client.download_artifacts(run.info.run_id, "my plots", out)
    return {
        "same_experiment": second.stdout.strip().splitlines()[-1:] == [run.info.experiment_id],
        "runs": sorted(r.info.run_name for r in mlflow.search_runs(experiment_names=["Churn Model v2 #1 & ü+"], output_format="list")),
        "history": history(client, run.info.run_id, "val acc:top-1"),
        "listing": sorted((f.path, f.is_dir) for f in client.list_artifacts(run.info.run_id, "my plots")),
        "nested": sorted(f.path for f in client.list_artifacts(run.info.run_id, "my plots/a+b & c%")),
        "downloaded": sorted(os.path.relpath(os.path.join(d, f), downloaded) for d, _, fs in os.walk(downloaded) for f in fs),
        "root_download": sorted(os.listdir(client.download_artifacts(run.info.run_id, ".", tempfile.mkdtemp()))),
    }


def datasets_and_filters():
    """A pandas dataset as an input, then MLflow's filter forms: dataset columns, bare attributes,
    double-quoted keys, order by run name and start time."""
    import pandas as pd
    mlflow.set_experiment("filters")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    for i, name in enumerate(["b run", "a run", "c run"]):
        with mlflow.start_run(run_name=name):
            mlflow.log_param("opt", "adam" if i % 2 else "sgd")
            if i < 2:
                mlflow.log_input(mlflow.data.from_pandas(frame, name="toy frame", targets="y"),
                                 context="training" if i == 0 else "eval")
    names = lambda text, order=None: [r.info.run_name for r in mlflow.search_runs(
        filter_string=text, order_by=order or ["attributes.run_name ASC"], output_format="list")]
    return {
        "dataset_name": names("dataset.name = 'toy frame'"),
        "dataset_context": names("dataset.context = 'eval'"),
        "dataset_digest": names("dataset.digest LIKE '%'"),
        "bare_status": names("status = 'FINISHED' AND run_name LIKE '%run'"),
        "quoted_key": names('params."opt" = \'sgd\''),
        "order_run_name": names("", ["run_name DESC"]),
        "order_start_time": names("", ["start_time DESC"]),
    }


def values_at_the_limits():
    """Empty values, and values longer than MLflow's limits (stored cut, with a warning)."""
    mlflow.set_experiment("limits")
    client = MlflowClient()
    with mlflow.start_run() as run:
        mlflow.log_param("empty", "")
        mlflow.set_tag("blank", "")
        mlflow.log_param("long", "p" * 6500)
        mlflow.set_tag("long tag", "t" * 9000)
        mlflow.log_params({"long batch": "b" * 7000})
    client.set_experiment_tag(run.info.experiment_id, "note", "")
    got = client.get_run(run.info.run_id)
    return {
        "params": {k: len(v) for k, v in got.data.params.items()},
        "tags": {k: len(v) for k, v in user_tags(got.data.tags).items() if k != "mlflow.runName"},
        "experiment_tag": client.get_experiment(run.info.experiment_id).tags.get("note"),
        "status": got.info.status,
    }


def rich_logging():
    """log_figure, log_image, log_table, system metrics, and tracing calls that must not break the script."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    mlflow.set_experiment("rich logging")
    figure, axes = plt.subplots()
    axes.plot([0, 1, 2], [2, 1, 3])

    @mlflow.trace
    def traced(x):
        return x + 1

    mlflow.set_system_metrics_sampling_interval(0.5)
    mlflow.set_system_metrics_samples_before_logging(1)
    mlflow.enable_system_metrics_logging()
    try:
        with mlflow.start_run() as run:
            mlflow.log_figure(figure, "plots/curve.png")
            mlflow.log_image(np.zeros((8, 8, 3), dtype=np.uint8), "images/black.png")
            mlflow.log_table({"x": [1, 2], "label": ["a", "b"]}, "tables/preds.json")
            traced_value = traced(1)
            with mlflow.start_span("a span") as span:
                span.set_inputs({"a": 1})
            import time
            time.sleep(2)
    finally:
        mlflow.disable_system_metrics_logging()
    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    out = tempfile.mkdtemp()
    table = json.load(open(client.download_artifacts(run.info.run_id, "tables/preds.json", out)))
    try:
        traces = len(mlflow.search_traces(experiment_ids=[run.info.experiment_id]))
    except MlflowException as e:
        traces = e.error_code
    return {
        "files": sorted(f.path for d in ["plots", "images", "tables"] for f in client.list_artifacts(run.info.run_id, d)),
        "table": table, "traced": traced_value, "status": got.info.status,
        "system_metrics": any(k.startswith("system/") for k in got.data.metrics),
        "png": open(client.download_artifacts(run.info.run_id, "plots/curve.png", out), "rb").read()[:4] == b"\x89PNG",
        "search_traces_ran": isinstance(traces, int),
    }


SCENARIOS = [fluent, async_logging, client_batch, search, inputs, artifacts, errors, models, autolog_sklearn,
             autolog_lightgbm, names_with_spaces, datasets_and_filters, values_at_the_limits, rich_logging]

if __name__ == "__main__":
    results = {}
    only = set(sys.argv[2:])
    for scenario in SCENARIOS:
        if only and scenario.__name__ not in only:
            continue
        try:
            results[scenario.__name__] = scenario()
        except Exception as e:  # reported, and compared like any other result
            results[scenario.__name__] = {"exception": f"{type(e).__name__}: {e}"[:500]}
    with open(sys.argv[1], "w") as out:  # stdout carries the client's own messages
        json.dump(results, out, indent=1, sort_keys=True, default=str)
