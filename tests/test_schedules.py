"""Learning-rate schedules: Keras 3's formulas by hand, the optimizer's use of them, save and load."""
import math

import numpy as np
import pytest

import netfit as nf
from netfit import optimizers, schedules
from netfit.layers import Dense
from netfit.schedules import CosineDecay, ExponentialDecay, InverseTimeDecay, PiecewiseConstantDecay


def test_piecewise_constant_uses_keras_boundaries():
    s = PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [s(r) for r in (0, 10, 11, 20, 21, 10**6)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]


def test_cosine_decay_without_warmup_by_hand():
    s = CosineDecay(0.2, decay_steps=8, alpha=0.1)
    for r in (0, 2, 4, 8, 100):
        rr = min(r, 8)
        expected = 0.2 * ((1 - 0.1) * 0.5 * (1 + math.cos(math.pi * rr / 8)) + 0.1)
        assert s(r) == pytest.approx(expected, rel=1e-14)
    assert s(0) == pytest.approx(0.2) and s(8) == pytest.approx(0.02)          # α γ_0 at the end


def test_cosine_decay_with_warmup_by_hand():
    s = CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
    assert [s(r) for r in (0, 1, 2, 3)] == pytest.approx([0.0, 0.25, 0.5, 0.75])    # linear warm-up
    assert s(4) == pytest.approx(1.0)                                              # the decay starts at γ_w
    assert s(9) == pytest.approx(0.5 * (1 + math.cos(math.pi * 5 / 10)))
    assert s(14) == pytest.approx(0.0, abs=1e-15) and s(1000) == pytest.approx(0.0, abs=1e-15)


def test_optimizer_asks_the_schedule_at_step_r_from_zero():
    opt = optimizers.SGD(PiecewiseConstantDecay([1], [0.5, 0.25]))
    theta, rates = np.array([1.0]), []
    opt.build(theta)
    for _ in range(3):
        rates.append(opt.current_learning_rate())
        opt.step(theta, np.array([1.0]))
    assert rates == [0.5, 0.5, 0.25]                     # r = 0, 1 ≤ boundary 1; r = 2 beyond
    assert theta[0] == pytest.approx(1 - 0.5 - 0.5 - 0.25)


@pytest.mark.parametrize("schedule", [CosineDecay(0.1, 50, alpha=0.2, warmup_target=0.3, warmup_steps=5),
                                      PiecewiseConstantDecay([3, 9], [0.1, 0.05, 0.01]),
                                      ExponentialDecay(0.1, 10, 0.5), InverseTimeDecay(0.1, 10, 1.0),
                                      ExponentialDecay(0.1, 10, 0.5, staircase=True, name="steps"),
                                      InverseTimeDecay(0.1, 10, 1.0, staircase=True)])
def test_schedules_round_trip_through_get_and_a_saved_model(schedule, tmp_path):
    again = schedules.get(schedule.get_config())
    assert again.get_config() == schedule.get_config()
    assert [again(r) for r in range(0, 60, 7)] == [schedule(r) for r in range(0, 60, 7)]
    model = nf.Sequential([Dense(1, input_shape=(2,))], seed=0)
    model.compile(optimizers.Adam(schedule), loss="mse")
    model.fit(np.ones((4, 2)), np.ones(4), epochs=2, batch_size=2, verbose=0)
    model.save(tmp_path / "m.netfit")
    loaded = nf.load_model(tmp_path / "m.netfit")
    assert loaded.optimizer.current_learning_rate() == model.optimizer.current_learning_rate()
    assert type(loaded.optimizer.learning_rate) is type(schedule)


def test_staircase_decays_once_every_decay_steps():
    # Keras's staircase=True: ⌊r / decay_steps⌋ in place of r / decay_steps.
    steps = range(0, 45)
    exponential = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    inverse = InverseTimeDecay(0.1, decay_steps=10, decay_rate=1.0, staircase=True)
    assert [exponential(r) for r in steps] == [0.1 * 0.5 ** (r // 10) for r in steps]
    assert [inverse(r) for r in steps] == [0.1 / (1.0 + r // 10) for r in steps]
    smooth = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert smooth(15) == pytest.approx(0.1 * 0.5 ** 1.5) and exponential(15) == 0.05
    assert exponential.get_config()["config"]["staircase"] is True and smooth.name == "ExponentialDecay"
    with pytest.raises(TypeError, match=r"ExponentialDecay: expected staircase True or False, got 'yes'"):
        ExponentialDecay(0.1, 10, 0.5, staircase="yes")


def test_old_import_paths_and_the_keras_path_work():
    assert optimizers.ExponentialDecay is ExponentialDecay and optimizers.CosineDecay is CosineDecay
    assert nf.optimizers.schedules.PiecewiseConstantDecay is PiecewiseConstantDecay   # keras.optimizers.schedules.…


@pytest.mark.parametrize("call,error,match", [
    (lambda: CosineDecay(0.1, 0), ValueError, r"CosineDecay: expected decay_steps a positive number, got 0"),
    (lambda: CosineDecay(-0.1, 10), ValueError, r"CosineDecay: expected initial_learning_rate a non-negative"),
    (lambda: CosineDecay(0.0, 10), ValueError, r"CosineDecay: expected initial_learning_rate > 0 without a warm-up"),
    (lambda: CosineDecay(0.1, 10, alpha=1.5), ValueError, r"CosineDecay: expected alpha in \[0, 1\]"),
    (lambda: CosineDecay(0.1, 10, warmup_target=0), ValueError, r"CosineDecay: expected warmup_target a positive"),
    (lambda: CosineDecay(0.1, 10, warmup_target=1.0), ValueError, r"expected warmup_steps > 0 with warmup_target"),
    (lambda: CosineDecay(0.1, 10, warmup_steps=-1), ValueError, r"expected warmup_steps a non-negative number"),
    (lambda: CosineDecay(0.1, 10, name=3), TypeError, r"CosineDecay: expected name a str, got int"),
    (lambda: PiecewiseConstantDecay([1, 2], [0.1, 0.2]), ValueError,
     r"PiecewiseConstantDecay: expected one more value than boundaries, got 2 boundaries and 2 values"),
    (lambda: PiecewiseConstantDecay([5, 2], [0.1, 0.2, 0.3]), ValueError, r"expected boundaries strictly increasing"),
    (lambda: PiecewiseConstantDecay([5], [0.1, -0.2]), ValueError, r"expected values a positive number, got -0.2"),
    (lambda: PiecewiseConstantDecay(5, [0.1]), TypeError, r"expected boundaries a list of numbers, got int"),
    (lambda: PiecewiseConstantDecay([1], "ab"), TypeError, r"expected values a list of numbers, got str"),
    (lambda: schedules.get({"class_name": "Cosine"}), ValueError,
     r"schedules.get: unknown learning-rate schedule 'Cosine'; supported: InverseTimeDecay"),
])
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()
