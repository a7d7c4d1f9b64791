"""The kit's checks of how a backend trains: reproducibly, fast equal to idiomatic, anytime
snapshots that are the models a shorter run ends with, and timing by the Stopwatch's rules."""

from __future__ import annotations

from collections import Counter

import numpy as np

from backends.base import SNAPSHOT_SHAPES, Snapshot
from harness.conformance.checks_model import main_runs, snapshot_of
from harness.conformance.compare import (
    FAST_LOSS_RTOL,
    FAST_PROBA_ATOL,
    FAST_WEIGHT_ATOL,
    close_predictions,
    expect,
    same_arrays,
    same_log,
    snapshot_row,
)
from harness.conformance.report import CheckSkipped
from harness.conformance.session import Run, Session, Sleeper
from harness.runs.evaluate import evaluate, predict_training_set
from harness.runs.seeds import probe_rng

# Scenarios whose prefix property is checked (a run of E-1 epochs per execution): batch-1 epochs
# (which fast executions run in chunks, cut at the snapshot), and a stateful one.
PREFIX_SCENARIOS = ("one_char", "stateful")


def _rows(run: Run, epoch: int) -> dict[int, dict[str, np.ndarray]]:
    """seed -> its snapshot row at `epoch`."""
    return {seed: snapshot_row(x.weights, row) for x in run.snapshots if x.epoch == epoch
            for row, seed in enumerate(x.seeds)}


def check_determinism(s: Session) -> str:
    """The same plans twice: the same log, weights, predictions, probes and snapshots, bit for bit."""
    sid = s.budget.scenarios[0]
    for execution in s.executions:
        first = s.main(execution, sid)
        again = s.run(execution, sid, snapshots=s.requested(s.budget.epochs), cached=False)
        spec, data = first.scenario.spec, first.data
        for seed in first.seeds:
            a, b, at = first.seed(seed), again.seed(seed), f"{first.where(seed)}, trained twice"
            same_log(a, b, at)
            same_arrays(a.predictor.weights(), b.predictor.weights(), at)
            expect(np.array_equal(predict_training_set(spec, data, a.predictor),
                                  predict_training_set(spec, data, b.predictor)), f"{at}: predictions differ")
            ea, eb = (evaluate(spec, data, t.predictor, probe_rng(seed)) for t in (a, b))
            expect((ea.accuracy, ea.patterns, ea.probes) == (eb.accuracy, eb.patterns, eb.probes),
                   f"{at}: evaluations differ")
        for epoch in {x.epoch for x in first.snapshots}:
            ra, rb = _rows(first, epoch), _rows(again, epoch)
            expect(ra.keys() == rb.keys(), f"{first.where()}: snapshot seeds at epoch {epoch} differ")
            for seed in ra:
                at = f"{first.where(seed)}: snapshot at epoch {epoch}, trained twice"
                same_arrays(ra[seed], rb[seed], at)
    return f"{sid} trained twice per execution {list(s.executions)}: identical, bit for bit"


def check_fast(s: Session) -> str:
    """Fast runs the idiomatic updates, only executed otherwise: equal up to summation order."""
    if not {"fast", "idiomatic"} <= set(s.executions):
        raise CheckSkipped(f"the backend offers {list(s.executions)}, not both executions")
    for sid in s.budget.scenarios:
        fast, slow = s.main("fast", sid), s.main("idiomatic", sid)
        for seed in slow.seeds:
            at = f"{fast.where(seed)} vs idiomatic"
            f, i = fast.seed(seed), slow.seed(seed)
            same_log(f, i, at, loss_rtol=FAST_LOSS_RTOL, samples=slow.data.n_samples)
            same_arrays(f.predictor.weights(), i.predictor.weights(), at, atol=FAST_WEIGHT_ATOL)
            spec, data = slow.scenario.spec, slow.data
            close_predictions(np.asarray(predict_training_set(spec, data, f.predictor)),
                              np.asarray(predict_training_set(spec, data, i.predictor)), at, FAST_PROBA_ATOL)
        for epoch in {x.epoch for x in slow.snapshots}:
            rf, ri = _rows(fast, epoch), _rows(slow, epoch)
            for seed in ri:
                same_arrays(rf[seed], ri[seed], f"{fast.where(seed)}: snapshot at epoch {epoch} vs idiomatic",
                            atol=FAST_WEIGHT_ATOL)
    return f"{len(s.budget.scenarios)} scenarios: fast = idiomatic (weights atol {FAST_WEIGHT_ATOL:g}, " \
           f"loss rtol {FAST_LOSS_RTOL:g}, probabilities atol {FAST_PROBA_ATOL:g})"


def _well_shaped(run: Run, snapshot: Snapshot) -> None:
    scenario, at = run.scenario, run.where()
    k, u, f, c = len(snapshot.seeds), scenario.units, scenario.spec.features, scenario.n_classes
    shapes = {"w_ih": (k, 4 * u, f), "w_hh": (k, 4 * u, u), "b": (k, 4 * u),
              "w_out": (k, c, u), "b_out": (k, c)}
    expect(isinstance(snapshot, Snapshot) and set(snapshot.seeds) <= set(run.seeds),
           f"{at}: snapshot of seeds {getattr(snapshot, 'seeds', None)}")
    live = [w for seed in snapshot.seeds for w in run.seed(seed).predictor.weights().values()]
    for name, array in snapshot.weights.items():
        expect(array.shape == shapes[name] and array.dtype == np.float32,
               f"{at}: snapshot {name} is {array.dtype} {array.shape}, expected float32 {shapes[name]}")
        expect(not any(np.shares_memory(array, w) for w in live), f"{at}: snapshot {name} is not a copy")


def _snapshots_of(s: Session, run: Run) -> None:
    """Each requested epoch in 1..epochs once per seed, in order, of the layout; the last one is
    the trained model."""
    epochs = run.scenario.epochs
    wanted = sorted(e for e in s.requested(epochs) if 1 <= e <= epochs)
    seen = Counter((x.epoch, seed) for x in run.snapshots for seed in x.seeds)
    expect(seen == Counter((e, seed) for e in wanted for seed in run.seeds),
           f"{run.where()}: snapshots at {sorted(seen)}, requested epochs {wanted} of every seed (once)")
    for seed in run.seeds:
        order = [x.epoch for x in run.snapshots if seed in x.seeds]
        expect(order == sorted(order), f"{run.where(seed)}: snapshots out of order {order}")
    for snapshot in run.snapshots:
        _well_shaped(run, snapshot)
    for seed, row in _rows(run, epochs).items():
        weights = snapshot_of(s, run, seed)
        same_arrays(row, weights, f"{run.where(seed)}: last snapshot vs the trained model")


def check_snapshots(s: Session) -> str:
    """Anytime evaluation: snapshots as requested, and the prefix property: the snapshot after
    epoch E-1 of an E-epoch run is, bit for bit, the model an (E-1)-epoch run ends with."""
    if not s.anytime:
        raise CheckSkipped("backend.anytime is False: it declines snapshots (the harness notes it)")
    for run in main_runs(s):
        _snapshots_of(s, run)
    epochs = s.budget.epochs
    prefixed = [sid for sid in s.budget.scenarios if sid in PREFIX_SCENARIOS] or list(s.budget.scenarios[:1])
    if epochs < 2:
        return "snapshots well formed; no prefix run at 1 epoch"
    for sid in prefixed:
        for execution in s.executions:
            longer = s.main(execution, sid)
            shorter = s.run(execution, sid, epochs=epochs - 1, snapshots=frozenset({epochs - 1}))
            mid, end, last = _rows(longer, epochs - 1), _rows(longer, epochs), _rows(shorter, epochs - 1)
            for seed in longer.seeds:
                at = f"{longer.where(seed)}: snapshot at epoch {epochs - 1}"
                same_arrays(mid[seed], last[seed], f"{at} vs a {epochs - 1}-epoch run's")
                same_arrays(last[seed], snapshot_of(s, shorter, seed), f"{at} vs that run's trained model")
                expect(not all(np.array_equal(mid[seed][n], end[seed][n]) for n in SNAPSHOT_SHAPES),
                       f"{at} equals the last epoch's: training went on, so a snapshot must be a copy")
    return f"snapshots well formed in {len(s.budget.scenarios)} scenarios; prefix property on {prefixed}"


def _timed(s: Session, execution: str, sid: str) -> None:
    """Fast: the main run's seeds, whose shapes are compiled by then (compilation need not be timed
    again); other executions train seeds one at a time: one seed."""
    s.main(execution, sid)
    epochs, seeds = s.budget.epochs, s.budget.seeds if execution == "fast" else s.budget.seeds[:1]
    sleeper = Sleeper(factor=2.0)
    run = s.run(execution, sid, seeds=seeds, snapshots=frozenset(range(1, epochs + 1)), callback=sleeper)
    scenario, at, steps = run.scenario, run.where(), run.scenario.steps_per_epoch
    progress = [c for c in sleeper.calls if isinstance(c, int)]
    expect(sleeper.updates == len(run.seeds) * scenario.updates_per_seed, f"{at}: progress reported "
                                                                          f"{sleeper.updates} updates")
    expect(all(u > 0 and u % steps == 0 for u in progress),
           f"{at}: progress {progress[:8]}: whole epochs only")
    together, seeds = {t.seeds_together for t in run.trained}, len(run.seeds)
    size = seeds if together == {seeds} else 1 if together == {1} else None
    laps = progress if size else progress[:1]  # loops of mixed sizes: only the first lap is followed
    size = size or run.trained[0].seeds_together
    done, first = 0, True
    for updates in laps:  # each loop's first lap is its first epoch alone
        expect(not first or updates == size * steps,
               f"{at}: a loop's first lap reported {updates} updates, not its first epoch's {size * steps}")
        done += updates
        first = done % (size * scenario.updates_per_seed) == 0
    slept = sum(sleeper.slept)
    for t in run.trained:
        timing = t.timing
        expect(0 < timing.first_epoch_seconds <= timing.train_seconds,
               f"{run.where(t.seed)}: first epoch {timing.first_epoch_seconds} s of {timing.train_seconds} s")
        expect((t.batch_train_seconds is None) == (t.seeds_together == 1),
               f"{run.where(t.seed)}: batch_train_seconds and seeds_together disagree")
        expect(t.first_epoch_seconds + sleeper.slept[0] <= run.wall,
               f"{run.where(t.seed)}: callback time counted in first_epoch_seconds")
    trained = sum(t.train_seconds for t in run.trained)  # each loop's seconds, once
    expect(trained + slept <= run.wall, f"{at}: callback time counted in train_seconds ({trained:.3f} s "
                                        f"trained + {slept:.3f} s in callbacks > {run.wall:.3f} s)")


def check_timing(s: Session) -> str:
    """The Stopwatch's rules (backends.timing): the whole loop is timed, progress and snapshot
    callbacks are not, the first lap ends the first epoch alone, laps report whole epochs."""
    sid = s.budget.scenarios[0]
    for execution in s.executions:
        _timed(s, execution, sid)
    return f"{sid}: callbacks that sleep longer than training are in no figure ({', '.join(s.executions)})"
