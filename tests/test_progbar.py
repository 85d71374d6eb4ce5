import sys

import numpy as np
import pytest

import gkeras.utils.progbar as progbar_module
from gkeras.utils import Progbar


class FakeClock:
    """Stands in for the ``time`` module so that timings are exact."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now


class CountingScalar:
    """A backend-scalar stand-in that counts how often it is read as a float."""

    reads = 0

    def __init__(self, value):
        self.value = value

    def __float__(self):
        CountingScalar.reads += 1
        return self.value


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(progbar_module, "time", fake)
    return fake


def pretend_tty(monkeypatch):
    # Called inside the test body: capsys swaps sys.stdout only once the test runs.
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)


def test_tty_bar_redraws_in_place_with_eta_and_throttles(clock, monkeypatch, capsys):
    pretend_tty(monkeypatch)
    bar = Progbar(10, stateful_metrics=["acc"])
    clock.now = 1.0
    bar.update(1, [("loss", 1.0), ("acc", 0.25)])
    clock.now = 1.01  # within the 0.05 s interval: accumulated but not drawn
    bar.update(2, [("loss", 0.5), ("acc", 0.5)])
    clock.now = 2.0
    bar.update(3, [("loss", 0.2), ("acc", 0.75)])
    clock.now = 5.0
    bar.update(10, [("loss", 0.125), ("acc", 1.0)])
    out = capsys.readouterr().out
    first = " 1/10 [==>" + "." * 27 + "] - ETA: 9s - loss: 1.0000 - acc: 0.2500"
    # loss averaged over steps 1-3 (1.0 + 0.5 + 0.2) / 3; acc (stateful) shown as given;
    # step time (2.0 - 1.0) / 2 ignores the first step, so ETA = 0.5 * 7 = 3.5 s.
    third = " 3/10 [========>" + "." * 21 + "] - ETA: 3s - loss: 0.5667 - acc: 0.7500"
    # Final: elapsed 5 s, (5.0 - 1.0) / 9 s per step, final values shown as given.
    final = "10/10 [" + "=" * 30 + "] - 5s 444ms/step - loss: 0.1250 - acc: 1.0000"
    assert out == "\r" + first + "\r" + third + "\r" + final + "\n"


def test_tty_pads_a_shorter_line_over_a_longer_one(clock, monkeypatch, capsys):
    pretend_tty(monkeypatch)
    bar = Progbar(None)
    clock.now = 1.0
    bar.update(5, [("loss", 12345.5)])
    clock.now = 2.0
    bar.update(6, [("loss", 1.5)], finalize=False)
    out = capsys.readouterr().out
    long_line = "      5/Unknown - 1s 200ms/step - loss: 12345.5000"
    # Average loss over 6 steps: (12345.5 * 5 + 1.5) / 6; 2 s over 6 steps per step.
    short_line = "      6/Unknown - 2s 333ms/step - loss: 10288.1667"
    assert out == "\r" + long_line + "\r" + short_line + " " * (len(long_line) - len(short_line))


def test_non_tty_prints_a_line_per_ten_seconds_and_ten_percent(clock, capsys):
    bar = Progbar(100, stateful_metrics=["loss"])
    for step in range(1, 101):
        clock.now = step * 0.5
        bar.update(step, [("loss", 1.0 / step)])
    lines = capsys.readouterr().out.split("\n")
    assert lines[-1] == ""
    assert [line.split("/")[0].strip() for line in lines[:-1]] == ["20", "40", "60", "80", "100"]
    assert "\r" not in "".join(lines)
    assert lines[0] == " 20/100 [=====>" + "." * 24 + "] - ETA: 40s - loss: 0.0500"
    assert lines[4].startswith("100/100 [" + "=" * 30 + "] - 50s 500ms/step - loss: 0.0100")


def test_non_tty_slow_steps_still_wait_for_ten_percent(clock, capsys):
    bar = Progbar(50)
    for step in range(1, 51):
        clock.now = step * 20.0
        bar.update(step)
    counts = [int(line.split("/")[0]) for line in capsys.readouterr().out.splitlines()]
    assert counts == [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]


def test_values_are_read_only_when_drawn(clock, monkeypatch, capsys):
    pretend_tty(monkeypatch)
    CountingScalar.reads = 0
    bar = Progbar(1000, stateful_metrics=["loss"])
    for step in range(1, 1001):
        clock.now = step * 0.001  # 1000 updates over 1 s: about 20 redraws
        bar.update(step, [("loss", CountingScalar(0.5))])
    redraws = capsys.readouterr().out.count("\r")
    assert CountingScalar.reads == redraws
    assert 15 <= redraws <= 25


def test_verbose_2_prints_one_line_when_finalized(clock, capsys):
    bar = Progbar(10, verbose=2, stateful_metrics=["loss"])
    for step in range(1, 10):
        clock.now = step * 0.5
        bar.update(step, [("loss", 0.3), ("val_loss", 1e-4)])
    assert capsys.readouterr().out == ""
    clock.now = 5.0
    bar.update(10, [("loss", 0.3), ("val_loss", 1e-4)])
    expected = "10/10 - 5s - loss: 0.3000 - val_loss: 1.0000e-04 - 500ms/step\n"
    assert capsys.readouterr().out == expected


def test_verbose_0_is_silent(clock, monkeypatch, capsys):
    pretend_tty(monkeypatch)
    bar = Progbar(3, verbose=0)
    for step in range(1, 4):
        clock.now = float(step)
        bar.update(step, [("loss", 1.0)])
    assert capsys.readouterr().out == ""


def test_add_advances_and_averages(clock, capsys):
    bar = Progbar(4)
    clock.now = 100.0
    bar.add(2, [("loss", 1.0)])  # counts for 2 steps
    bar.add(1, [("loss", 4.0)])
    assert bar._seen_so_far == 3
    total, count = bar._values["loss"]
    assert total / count == pytest.approx((2 * 1.0 + 4.0) / 3)
    bar.add(1, [("loss", 0.5)])  # finalize: last value shown as given
    assert capsys.readouterr().out.endswith("- loss: 0.5000\n")


def test_metric_and_time_formatting():
    assert progbar_module.format_value(0.5) == "0.5000"
    assert progbar_module.format_value(-2.0) == "-2.0000"
    assert progbar_module.format_value(0.001) == "1.0000e-03"
    assert progbar_module.format_value(-5e-7) == "-5.0000e-07"
    assert progbar_module.format_value(np.array(0.25, dtype="float32")) == "0.2500"
    assert progbar_module._format_time(2.4, "step") == " 2s/step"
    assert progbar_module._format_time(0.0204, "step") == " 20ms/step"
    assert progbar_module._format_time(3e-5, "sample") == " 30us/sample"
    assert progbar_module._format_eta(59.0) == "59s"
    assert progbar_module._format_eta(125.0) == "2:05"
    assert progbar_module._format_eta(3725.0) == "1:02:05"


def test_vector_metric_shows_its_mean(clock, capsys):
    bar = Progbar(1, stateful_metrics=["f1"])
    bar.update(1, [("f1", np.array([0.2, 0.4]))])
    assert capsys.readouterr().out.endswith("- f1: 0.3000\n")


def test_bad_verbose_is_rejected():
    with pytest.raises(ValueError, match="verbose"):
        Progbar(10, verbose=3)
