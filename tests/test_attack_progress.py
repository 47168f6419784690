"""Progress lines of an attack: due after the interval and not before; counts, rate and time left."""

import logging
import threading
import time

from amda.attack.runner import PROGRESS_EVERY_S, AttackProgress

LOGGER = "amda.attack.runner"


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def result(kind):
    return {"result": kind}


def lines(caplog):
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.INFO]


def test_interval_says_at_least_every_minute():
    assert 0 < PROGRESS_EVERY_S <= 60


def test_a_line_is_logged_once_the_interval_has_passed_and_not_before(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = Clock()
    earlier = [result("successful"), result("capped")]  # from the checkpoint / kept: counted, never in the rate
    progress = AttackProgress("pwws: shard 0 of 2", 10, earlier, clock=clock, every_s=30)
    progress.start(resumed=1, kept=1)
    assert lines(caplog) == [
        "pwws: shard 0 of 2: 10 examples, 1 from the checkpoint, 1 kept from earlier runs, 8 to attack"
    ]
    for t, kind in [(10, "successful"), (20, "failed"), (29.9, "skipped")]:
        clock.now = t
        progress.add(result(kind))
    assert len(lines(caplog)) == 1  # 29.9 s: not yet
    clock.now = 30
    assert progress.maybe_log()
    # 5 of 10 done (2 earlier); 3 attacked in 30 s: 6.0 a minute, the 5 left take 50 s
    assert lines(caplog)[-1] == (
        "pwws: shard 0 of 2: 5/10 examples done (2 earlier), successful 2, failed 1, skipped 1, apart 1 (capped 1);"
        " 6.0 examples/min, about 50s left"
    )
    clock.now = 59
    progress.add(result("errored"))
    assert len(lines(caplog)) == 2  # 29 s after the last line: not yet
    clock.now = 60
    progress.add(result("successful"))  # the line comes with the example that finishes once it is due
    assert lines(caplog)[-1] == (
        "pwws: shard 0 of 2: 7/10 examples done (2 earlier), successful 3, failed 1, skipped 1,"
        " apart 2 (errored 1, capped 1); 5.0 examples/min, about 36s left"
    )
    assert not progress.maybe_log()
    clock.now = 3660
    progress.begin(42)
    clock.now = 3700
    assert progress.maybe_log()  # an example still running: the line says which, and for how long
    assert lines(caplog)[-1].endswith("about 37m 00s left; example 42 under attack for 40s")
    for kind in ("failed", "no_words", "successful"):
        progress.add(result(kind))
    clock.now = 7500
    progress.finish()
    assert lines(caplog)[-1] == (
        "pwws: shard 0 of 2: finished, 10/10 examples (2 earlier), successful 4, failed 2, skipped 1,"
        " apart 3 (errored 1, capped 1, no_words 1); 8 attacked in 2h 05m (0.1 examples/min)"
    )


def test_no_rate_before_the_first_example_of_this_process(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    clock = Clock()
    progress = AttackProgress("attack", 3, [result("failed")], clock=clock, every_s=30)
    progress.start(resumed=1)
    clock.now = 31
    assert progress.maybe_log()
    assert lines(caplog)[-1] == (
        "attack: 1/3 examples done (1 earlier), successful 0, failed 1, skipped 0, apart 0; no rate yet"
    )


def test_a_long_example_does_not_hold_back_the_line(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    progress = AttackProgress("attack", 2, every_s=0.05)
    progress.start()
    with progress.watch(poll_s=0.01):
        progress.begin(7)
        time.sleep(0.5)  # one example far longer than the interval
        assert any("example 7 under attack" in line for line in lines(caplog))
        progress.add(result("failed"))
    assert not any(t.name == "attack-progress" for t in threading.enumerate())  # stopped
