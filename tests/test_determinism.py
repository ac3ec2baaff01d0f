"""Same seed, same machine -> bit-identical weights, history and predictions; in one process and across two.

netfit's randomness (initial weights, shuffles, dropout masks) comes from the
model's seed; what a seed cannot pin is how a multi-threaded BLAS splits its
sums, so ``nf.config.set_deterministic`` / ``NETFIT_DETERMINISTIC=1`` pin BLAS
to one thread (through threadpoolctl when installed). See docs/reliability.md.
"""
import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import netfit as nf
from netfit import parallel
from netfit.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D

ROOT = Path(__file__).resolve().parents[1]


# -- the runs compared: shared by this process and the subprocesses (which import this file) --------
def data():
    rng = np.random.default_rng(0)
    x = rng.random((120, 12, 12)).astype(np.float32)
    return x, (x[:, :6].sum(axis=(1, 2)) > x[:, 6:].sum(axis=(1, 2))).astype(np.int64) + 2 * (x[:, 0, 0] > 0.5)


def mlp(seed):
    return nf.Sequential([Flatten(input_shape=(12, 12)), Dense(32, activation="relu"), Dropout(0.2),
                          Dense(4, activation="softmax")], seed=seed)


def cnn(seed):
    return nf.Sequential([Conv2D(4, 3, activation="relu", input_shape=(12, 12)), MaxPooling2D(2), Flatten(),
                          Dropout(0.3), Dense(4, activation="softmax")], seed=seed)


def train(make, seed=7):
    model = make(seed)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = data()
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.2)
    return model, history


def fingerprint(model, history):
    """SHA-256 of the weights' bytes, the predictions' bytes and the history."""
    digest = hashlib.sha256()
    for w in model.get_weights():
        digest.update(w.tobytes())
    digest.update(model.predict(data()[0]).tobytes())
    digest.update(json.dumps(history.history, sort_keys=True).encode())
    return digest.hexdigest()


def report():
    """What a subprocess prints: both fingerprints and whether BLAS was pinned."""
    try:
        from threadpoolctl import threadpool_info
        threads = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    except ImportError:
        threads = None
    return {"mlp": fingerprint(*train(mlp)), "cnn": fingerprint(*train(cnn)),
            "deterministic": nf.config.deterministic(), "blas_threads": threads}


_REPORT = "import json, test_determinism as t; print(json.dumps(t.report()))"


@pytest.mark.parametrize("make", [mlp, cnn], ids=["mlp", "cnn-dropout"])
def test_two_runs_in_one_process_are_bit_identical(make):
    first, h1 = train(make)
    second, h2 = train(make)                                            
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        assert a.tobytes() == b.tobytes()
    assert h1.history == h2.history and h1.epoch == h2.epoch
    assert first.predict(data()[0]).tobytes() == second.predict(data()[0]).tobytes()
    other, _ = train(make, seed=8)                                      
    assert fingerprint(other, _) != fingerprint(first, h1)              


def test_set_random_seed_makes_unseeded_models_repeat():
    def run():
        nf.utils.set_random_seed(123)
        model = nf.Sequential([Dense(6, activation="tanh", input_shape=(3,)), Dropout(0.5), Dense(2, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        x = np.random.default_rng(1).standard_normal((40, 3))
        model.fit(x, (x[:, 0] > 0).astype(int), epochs=2, batch_size=8, verbose=0)
        return [w.tobytes() for w in model.get_weights()]
    assert run() == run()


def _subprocess_report(**env):
    path = os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])
    full = {**os.environ, "PYTHONPATH": path, **env}
    for key in [k for k, v in full.items() if v is None]:
        del full[key]
    out = subprocess.run([sys.executable, "-c", _REPORT], capture_output=True, text=True, env=full, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_two_processes_give_bit_identical_weights_and_history():
    """Two fresh interpreters with NETFIT_DETERMINISTIC=1, and this one pinned the same way, agree bit for bit."""
    env = {"NETFIT_DETERMINISTIC": "1", "OPENBLAS_NUM_THREADS": None, "OMP_NUM_THREADS": None}
    first, second = _subprocess_report(**env), _subprocess_report(**env)
    assert first["mlp"] == second["mlp"] and first["cnn"] == second["cnn"]
    try:
        import threadpoolctl  # noqa: F401
    except ImportError:
        assert first["deterministic"] is False
    else:
        assert first["deterministic"] is True and set(first["blas_threads"]) == {1}
    was_on = nf.config.deterministic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # no threadpoolctl: the fingerprints still agree here
        nf.config.set_deterministic(True)
    try:
        here = {"mlp": fingerprint(*train(mlp)), "cnn": fingerprint(*train(cnn))}
    finally:
        nf.config.set_deterministic(was_on)
    assert here == {"mlp": first["mlp"], "cnn": first["cnn"]}


def test_blas_thread_count_is_the_documented_limit():
    """Informative: whether 1 and several BLAS threads agree here (they may not on other machines)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    results = {}
    for threads in (1, max(2, os.cpu_count() or 2)):
        with threadpoolctl.threadpool_limits(limits=threads, user_api="blas"):
            results[threads] = fingerprint(*train(cnn))                
    same = len(set(results.values())) == 1
    print(f"BLAS threads {sorted(results)}: {'identical' if same else 'different in the last bits'}")


# -- the switch ------------------------------------------------------------------------------------
def _blas_threads():
    from threadpoolctl import threadpool_info
    return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}


def test_set_deterministic_pins_blas_to_one_thread_and_gives_the_threads_back():
    pytest.importorskip("threadpoolctl")
    was_on = nf.config.deterministic()
    nf.config.set_deterministic(False)
    before = _blas_threads()
    try:
        assert nf.config.set_deterministic(True) is True and nf.config.deterministic()
        assert _blas_threads() == {1}
        assert nf.config.set_deterministic(True) is True                  # idempotent
        assert nf.config.set_deterministic(False) is False and not nf.config.deterministic()
        assert _blas_threads() == before
    finally:
        nf.config.set_deterministic(was_on)


def test_set_deterministic_without_threadpoolctl_warns_and_says_how(monkeypatch):
    was_on = nf.config.deterministic()
    nf.config.set_deterministic(False)
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)                # import fails
    try:
        with pytest.warns(RuntimeWarning, match=r"^set_deterministic: threadpoolctl is not installed, so "
                                                r"deterministic mode stays off.*Fix: pip install "
                                                r"'netfit\[threads\]'\.$") as caught:
            assert nf.config.set_deterministic(True) is False
        assert not nf.config.deterministic()
        # Pinning BLAS by environment variables is not advised: it would leave the pool's split products.
        assert "OPENBLAS_NUM_THREADS" not in str(caught[0].message)
    finally:
        monkeypatch.undo()
        nf.config.set_deterministic(was_on)


def test_netfit_deterministic_without_threadpoolctl_names_the_variable():
    """NETFIT_DETERMINISTIC=1 without threadpoolctl: the warning names the variable the user set."""
    code = "import sys; sys.modules['threadpoolctl'] = None; import netfit; print(netfit.config.deterministic())"
    env = {**os.environ, "NETFIT_DETERMINISTIC": "1"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
    assert "RuntimeWarning: NETFIT_DETERMINISTIC=1: threadpoolctl is not installed, so deterministic mode stays " \
           "off" in out.stderr and "Fix: pip install 'netfit[threads]'." in out.stderr
    assert "set_deterministic" not in out.stderr


# -- BLAS threads during fit (nf.config.set_threads) ----------------------------------------------
def _threads_seen_by_fit(model, batch_size):
    seen = set()
    record = nf.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.update(_blas_threads()))
    model.fit(np.zeros((8, 4), "float32"), np.zeros(8, "int64"), batch_size=batch_size, epochs=1, verbose=0,
              callbacks=[record])
    return seen


def _tiny(passes=True):
    """A tiny classifier of 4 features; ``passes``: with a layer that is not matrix products only (a Conv1D)."""
    layers = [nf.layers.Reshape((4, 1), input_shape=(4,)), nf.layers.Conv1D(2, 1), nf.layers.Flatten()] \
        if passes else [nf.layers.InputLayer((4,))]
    model = nf.Sequential(layers + [nf.layers.Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture
def threads_setting():
    before = nf.config.threads()
    yield
    nf.config.set_threads(before)


def test_auto_threads_train_small_steps_on_one_blas_thread_and_restore_the_count(threads_setting, monkeypatch):
    before = _blas_threads()
    nf.config.set_threads("auto")
    assert _threads_seen_by_fit(_tiny(), 4) == {1}                      # 6 · 15 links · 4 flops: tiny
    assert _blas_threads() == before
    # A step above the threshold runs on netfit.parallel's pool, one BLAS thread per block
    # (on a 1-core machine there is no pool: BLAS keeps the count it had).
    monkeypatch.setattr(nf.config, "SMALL_STEP_FLOPS", 0)
    assert _threads_seen_by_fit(_tiny(), 4) == ({1} if parallel.available_cores() > 1 else before)
    assert _blas_threads() == before


def test_auto_threads_run_large_steps_of_a_model_of_products_only_on_blas_threads(threads_setting, monkeypatch):
    # Dense and what goes around it: small steps on one BLAS thread, larger ones on BLAS's own
    # threads, which beat the pool there, from a bound of their own (config.SMALL_PRODUCTS_STEP_FLOPS).
    before = _blas_threads()
    nf.config.set_threads("auto")
    products_only = _tiny(passes=False)
    assert products_only._blas_bound and not _tiny()._blas_bound
    assert _threads_seen_by_fit(products_only, 4) == {1}
    monkeypatch.setattr(nf.config, "SMALL_PRODUCTS_STEP_FLOPS", 0)        # large for products only
    monkeypatch.setattr(nf.config, "SMALL_STEP_FLOPS", 1e30)              # (the other bound is not theirs)
    assert _threads_seen_by_fit(_tiny(passes=False), 4) == before          # BLAS alone, no pool
    assert _threads_seen_by_fit(_tiny(), 4) == {1}                         # other models: still small
    assert _blas_threads() == before


def test_set_threads_holds_fit_at_that_count_or_leaves_blas_alone(threads_setting, monkeypatch):
    monkeypatch.setattr(nf.config, "SMALL_STEP_FLOPS", 0)                 # every step "large"
    before = _blas_threads()
    nf.config.set_threads(1)
    assert _threads_seen_by_fit(_tiny(), 4) == {1}
    nf.config.set_threads(None)
    monkeypatch.setattr(nf.config, "SMALL_STEP_FLOPS", 1e30)              # every step "small": still left alone
    assert _threads_seen_by_fit(_tiny(), 4) == before
    assert _blas_threads() == before


def test_set_threads_takes_auto_in_any_case_and_refuses_a_count_as_a_string(threads_setting):
    nf.config.set_threads(1)
    nf.config.set_threads("AUTO")                                         # as --threads AUTO
    assert nf.config.threads() == "auto"
    with pytest.raises(ValueError, match=r"^set_threads: expected 'auto', a positive integer or None, got the "
                                         r"string '2'; pass the int 2: set_threads\(2\)\.$"):
        nf.config.set_threads("2")
    assert nf.config.threads() == "auto"


@pytest.mark.parametrize("value", [0, -1, 1.5, "two", True])
def test_set_threads_refuses_what_is_not_a_thread_count(value, threads_setting):
    with pytest.raises(ValueError, match=r"set_threads: expected 'auto', a positive integer or None"):
        nf.config.set_threads(value)
    assert nf.config.threads() == "auto"
