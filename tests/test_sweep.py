"""Sweeps: grids, the tidy table and its summary, local processes and Dask giving identical numbers, the CLI."""
import csv
import math

import numpy as np
import pytest

from netfit.cli import main
from netfit.sweep import SweepResult, expand_grid, load_sweep_data, run_sweep, train_task

GRID = {"hidden": [0, 1, 2, 3, 4], "weight_decay": [0.0, 0.01]}          # 10 cells × 2 seeds = 20 runs
FIXED = {"epochs": 25, "n_train": 60, "n_test": 200}


def _numbers(result):
    """The rows without their timings, which differ from run to run."""
    return [{k: v for k, v in row.items() if k != "seconds"} for row in result.rows]


def _blas_task(params, seed, data):
    from threadpoolctl import threadpool_info
    return {"threads": max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")}


def _failing_task(params, seed, data):
    if params["x"] == 2:
        raise RuntimeError("boom")
    return {"value": params["x"] * 10 + seed}


def test_expand_grid_product_and_union():
    assert expand_grid({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    assert len(expand_grid([{"model": ["net1", "net2"]}, {"hidden": [1, 2, 3]}])) == 5
    with pytest.raises(TypeError, match="list of values for 'a'"):
        expand_grid({"a": 3})
    with pytest.raises(ValueError, match="seeds="):
        expand_grid({"seed": [1, 2]})


def test_local_processes_match_sequential_and_the_table_is_tidy():
    sequential = run_sweep(GRID, seeds=2, data="esl-sigmoid", fixed=FIXED, backend="sequential")
    local = run_sweep(GRID, seeds=2, data="esl-sigmoid", fixed=FIXED, backend="loky", n_jobs=2)
    assert len(local.rows) == 20
    assert _numbers(local) == _numbers(sequential)
    assert local.params == ["hidden", "weight_decay"]
    assert {"train_loss", "test_mse", "test_r2", "epochs_run"} <= set(local.metrics)
    assert list(local.rows[0])[:3] == ["hidden", "weight_decay", "seed"]
    # Runs differ between seeds (different starts), except the linear model's unique optimum.
    cell = [r["test_mse"] for r in local.rows if r["hidden"] == 3 and r["weight_decay"] == 0.0]
    assert cell[0] != cell[1]


def test_summary_mean_and_sd_per_cell(tmp_path):
    rows = [{"a": 1, "seed": s, "m": v, "seconds": 0.1} for s, v in enumerate([1.0, 2.0, 4.0])]
    rows += [{"a": 2, "seed": 0, "m": 5.0, "seconds": 0.1}, {"a": 2, "seed": 1, "m": float("nan"), "seconds": 0.1}]
    result = SweepResult(rows, params=["a"])
    first, second = result.summary()
    assert first == {"a": 1, "n": 3, "m_mean": pytest.approx(7 / 3), "m_sd": pytest.approx(np.std([1, 2, 4], ddof=1))}
    assert second["n"] == 2 and second["m_mean"] == 5.0 and math.isnan(second["m_sd"])
    assert "| 1 | 3 | 2.333 ± 1.528 |" in result.summary_markdown()
    paths = result.write(tmp_path / "out")
    with open(paths[0], newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 5 and table[0]["a"] == "1" and float(table[2]["m"]) == 4.0
    assert (tmp_path / "out" / "summary.csv").exists() and (tmp_path / "out" / "summary.md").exists()


def test_blas_threads_are_limited_in_each_run():
    pytest.importorskip("threadpoolctl")
    result = run_sweep({"x": [1]}, _blas_task, seeds=1, backend="sequential", blas_threads=1)
    assert result.rows[0]["threads"] == 1


def test_failed_runs_are_recorded_or_raised():
    result = run_sweep({"x": [1, 2]}, _failing_task, seeds=2, backend="sequential", on_error="record")
    assert [r.get("value") for r in result.rows] == [10, 11, None, None]
    assert result.rows[2]["exception"] == "RuntimeError: boom" and result.metrics == ["value"]
    with pytest.raises(RuntimeError, match="boom"):
        run_sweep({"x": [2]}, _failing_task, seeds=1, backend="sequential")


def test_train_task_on_arrays_and_classification():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    data = {"x_train": x[:60], "y_train": y[:60], "x_test": x[60:], "y_test": y[60:]}
    row = train_task({"hidden": 3, "epochs": 30}, 0, data)
    assert set(row) == {"train_loss", "epochs_run", "test_loss", "test_error"} and 0 <= row["test_error"] <= 0.5
    assert train_task({"hidden": 3, "epochs": 30}, 0, data) == row
    with pytest.raises(ValueError, match="unknown setting"):
        train_task({"hiden": 3}, 0, data)
    assert load_sweep_data(((x, y), (x, y)))["y_test"] is y


def test_argument_errors():
    with pytest.raises(ValueError, match="backend"):
        run_sweep({"x": [1]}, _failing_task, backend="spark")
    with pytest.raises(ValueError, match="scheduler"):
        run_sweep({"x": [1]}, _failing_task, backend="loky", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="both in the grid and in fixed"):
        run_sweep({"x": [1]}, _failing_task, fixed={"x": 2})
    with pytest.raises(ValueError, match="seeds"):
        run_sweep({"x": [1]}, _failing_task, seeds=0)


def test_cli_sweep_writes_the_table(tmp_path, capsys):
    code = main(["sweep", "--data", "esl-sigmoid", "--grid", "hidden=0,2", "--set", "epochs=10",
                 "--set", "n_train=40", "--set", "n_test=100", "--seeds", "2", "--backend", "sequential",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "| hidden | n |" in out and (tmp_path / "results.csv").exists()
    assert main(["sweep", "--scheduler", "tcp://127.0.0.1:1"]) == 1
    assert "--scheduler needs --backend dask" in capsys.readouterr().err
    assert main(["sweep", "--grid", "hidden"]) == 1


# -- Dask ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("dask.distributed")
    pytest.importorskip("joblib")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp",
                                       host="127.0.0.1", dashboard_address=None)
    yield cluster
    cluster.close()


def test_dask_gives_the_same_numbers_as_local_processes(dask_cluster):
    from dask.distributed import Client
    local = run_sweep(GRID, seeds=2, data="esl-sigmoid", fixed=FIXED, backend="sequential")
    with Client(dask_cluster):
        on_dask = run_sweep(GRID, seeds=2, data="esl-sigmoid", fixed=FIXED, backend="dask")
    assert len(on_dask.rows) == 20
    assert _numbers(on_dask) == _numbers(local)
    # By scheduler address, as `netfit sweep --backend dask --scheduler ADDRESS` does.
    by_address = run_sweep({"hidden": [2]}, seeds=2, data="esl-sigmoid", fixed=FIXED, backend="dask",
                           scheduler=dask_cluster.scheduler_address)
    expected = [{k: v for k, v in r.items() if k != "weight_decay"} for r in _numbers(local)
                if r["hidden"] == 2 and r["weight_decay"] == 0.0]
    assert _numbers(by_address) == expected


def test_dask_without_a_cluster_says_how_to_get_one():
    pytest.importorskip("dask.distributed")
    pytest.importorskip("joblib")
    from dask.distributed import get_client
    try:
        get_client()
        pytest.skip("a Dask client is already active")
    except ValueError:
        pass
    with pytest.raises(ValueError, match="needs a cluster: pass scheduler="):
        run_sweep({"x": [1]}, _failing_task, backend="dask")
