"""The kit's checks of what a backend is and what it hands back: light imports, its config
refusals, well-formed trainings and probes, and its model against the numpy reference.

Each check takes the `Session`, returns a line saying what it covered, raises `CheckSkipped` where
it does not apply, and fails by raising (the kit names the check)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

import numpy as np

from backends import DEVICES, EXECUTIONS, SeedTraining
from backends.base import Backend
from backends.plugins import FRAMEWORKS
from backends.reference import StackedLSTM
from backends.timing import Timing
from backends.weights import to_snapshot
from harness.conformance.compare import REFERENCE_ATOL, close_predictions, expect, same_arrays, snapshot_row
from harness.conformance.report import CheckSkipped
from harness.conformance.session import Run, Session
from harness.runs.evaluate import PROBES, evaluate, predict_training_set
from harness.runs.seeds import probe_rng
from scenarios import ALPHABET


def check_imports(s: Session) -> str:
    """Importing the backend module in a fresh process imports no framework (`list` and the driver
    import it where the framework may be missing)."""
    heavy = sorted({*FRAMEWORKS, *(m.split(".")[0] for m in s.entry.requires)})
    code = ("import importlib, json, sys; from backends import apply_env, get_entry; "
            f"apply_env({s.name!r}); importlib.import_module(get_entry({s.name!r}).module); "
            f"print(json.dumps(sorted(set({heavy!r}) & {{m.split('.')[0] for m in sys.modules}})))")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    expect(done.returncode == 0,
           f"importing {s.entry.module} in a fresh process failed:\n{done.stderr[-2000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    expect(not found, f"importing {s.entry.module} imported {', '.join(found)}: a backend module imports "
                      "its framework inside methods only")
    return f"{s.entry.module} imports none of {', '.join(heavy)}"


def _refused(s: Session, what: str, value: str, choices: tuple[str, ...]) -> None:
    config = s.config(**{what: value})
    try:
        s.new_backend().setup(config)
    except ValueError as exc:
        said = str(exc)
        expect("valid choices" in said and all(c in said for c in choices),
               f"setup refused {what} {value!r} without naming the valid choices {list(choices)}: {said!r}")
        return
    raise AssertionError(f"setup accepted the unsupported {what} {value!r} (use backends.base.check_config)")


def check_config(s: Session) -> str:
    """`EXECUTIONS` is a subset of the contract's; setup refuses any other execution and an unknown
    device, naming the valid choices; knobs and versions are JSON-ready for the record."""
    expect(bool(s.executions) and set(s.executions) <= set(EXECUTIONS),
           f"module EXECUTIONS {s.executions} must be a non-empty subset of {EXECUTIONS}")
    expect(isinstance(s.new_backend(), Backend), "BACKEND_CLASS() is not a backends.base.Backend")
    refused = ["no-such-execution", *(e for e in EXECUTIONS if e not in s.executions)]
    for execution in refused:
        _refused(s, "execution", execution, s.executions)
    _refused(s, "device", "no-such-device", DEVICES)
    for execution in s.executions:
        backend = s.backend(execution)
        knobs = s.knobs[execution]
        expect(isinstance(knobs, dict), f"setup({execution}) returned {type(knobs).__name__}, not a dict")
        json.dumps(knobs)
        versions = backend.versions()
        expect(isinstance(versions, dict) and all(isinstance(v, str) for v in versions.values()),
               f"versions() must be a dict of strings, got {versions!r}")
    return f"refused executions {refused} and an unknown device; set up {list(s.executions)}"


def well_formed(run: Run) -> None:
    """One SeedTraining per plan with the scenario's updates and epochs, the progress it reported,
    and a Predictor whose outputs are probabilities."""
    scenario, data = run.scenario, run.data
    where, steps, classes = run.where(), scenario.steps_per_epoch, scenario.n_classes
    got = [t.seed for t in run.trained]
    expect(sorted(got) == sorted(run.seeds), f"{where}: trained seeds {got}, planned {list(run.seeds)}")
    expect(all(u > 0 and u % steps == 0 for u in run.progress),
           f"{where}: progress calls {run.progress[:8]} must each report whole epochs of {steps} updates")
    expect(sum(run.progress) == len(run.seeds) * scenario.updates_per_seed,
           f"{where}: progress reported {sum(run.progress)} updates, trained {len(run.seeds)} x "
           f"{scenario.updates_per_seed}")
    for t in run.trained:
        at = run.where(t.seed)
        expect(isinstance(t, SeedTraining) and isinstance(t.timing, Timing),
               f"{at}: not a SeedTraining with a Timing")
        expect(t.updates == scenario.updates_per_seed, f"{at}: {t.updates} updates, expected "
                                                       f"{scenario.updates_per_seed}")
        expect(len(t.epoch_loss) == len(t.epoch_accuracy) == scenario.epochs,
               f"{at}: {len(t.epoch_loss)} losses, {len(t.epoch_accuracy)} accuracies, "
               f"{scenario.epochs} epochs")
        expect(all(math.isfinite(v) for v in t.epoch_loss), f"{at}: losses {t.epoch_loss} not finite")
        expect(all(0.0 <= a <= 1.0 for a in t.epoch_accuracy), f"{at}: accuracies {t.epoch_accuracy}")
        expect(isinstance(t.extra, dict) and not set(t.extra) & set(PROBES),
               f"{at}: extra {t.extra!r} must be a dict not named like a probe")
        json.dumps(t.extra)
        proba = np.asarray(t.predictor.predict_proba(data.x))
        expect(proba.shape == (data.n_samples, classes), f"{at}: predict_proba shape {proba.shape}")
        expect(bool(np.all(np.isfinite(proba))) and np.allclose(proba.sum(axis=1), 1.0, atol=1e-5),
               f"{at}: predict_proba rows are not probabilities")
        t.predictor.reset_state()
        step = np.asarray(t.predictor.step(data.x[:1]))
        expect(step.shape == (classes,), f"{at}: step returned shape {step.shape}, expected ({classes},)")
        t.predictor.reset_state()
        weights = t.predictor.weights()
        finite = all(np.all(np.isfinite(np.asarray(w))) for w in weights.values())
        expect(isinstance(weights, dict) and finite, f"{at}: weights() must be a dict of finite arrays")


def main_runs(s: Session) -> list[Run]:
    return [s.main(execution, sid) for sid in s.budget.scenarios for execution in s.executions]


def check_training(s: Session) -> str:
    runs = main_runs(s)
    for run in runs:
        well_formed(run)
    return f"{len(runs)} trainings ({s.budget.epochs} epochs, seeds {list(s.budget.seeds)}) well formed"


def _probe_shapes(name: str, value: dict, n: int) -> bool:
    share = value.get("share_correct", value.get("accuracy", 0.0))
    shaped = {"generate_from_A": lambda: len(value["generated"]) == len(ALPHABET) - 1,
              "cold_start_K": lambda: len(value["letters"]) == 5 and isinstance(value["first_is_L"], bool),
              "random_patterns": lambda: all(0 <= i < n for i in value["indices"]),
              "reset_each_sample": lambda: len(value["predicted"]) == n,
              "state_carried": lambda: isinstance(value["carried"], bool) and value["max_change"] >= 0}
    return 0.0 <= share <= 1.0 and shaped[name]()


def check_probes(s: Session) -> str:
    """The scenario's probes, run on every trained model as the worker runs them: present, of
    their shape, JSON-ready; a stateful model carries its state (the probe that tells)."""
    count = 0
    for run in main_runs(s):
        spec = run.scenario.spec
        for t in run.trained:
            at = run.where(t.seed)
            result = evaluate(spec, run.data, t.predictor, probe_rng(t.seed))
            expect(set(result.probes) == set(spec.probes), f"{at}: probes {sorted(result.probes)}")
            expect(0.0 <= result.accuracy <= 1.0 and len(result.patterns) == run.data.n_samples,
                   f"{at}: accuracy {result.accuracy} over {len(result.patterns)} patterns")
            json.dumps({"probes": result.probes, "patterns": result.patterns})
            for name, value in result.probes.items():
                expect(_probe_shapes(name, value, run.data.n_samples),
                       f"{at}: probe {name} malformed: {value!r}")
            if "state_carried" in result.probes:
                expect(result.probes["state_carried"]["carried"],
                       f"{at}: a stateful model dropped its state between step() calls")
            count += 1
    return f"probes of {count} trained models present and well formed"


def snapshot_of(s: Session, run: Run, seed: int) -> dict[str, np.ndarray] | None:
    """A trained seed's weights as a one-row snapshot: from a known native layout, else from its
    last-epoch snapshot (anytime backends); None when neither."""
    try:
        return to_snapshot(run.seed(seed).predictor.weights())
    except ValueError:
        last = [x for x in run.snapshots if x.epoch == run.scenario.epochs and seed in x.seeds]
        return snapshot_row(last[0].weights, last[0].seeds.index(seed)) if last else None


def reference_agrees(run: Run, seed: int, weights: dict[str, np.ndarray],
                     predictor: object | None = None) -> None:
    """The numpy reference on `weights` predicts what the predictor predicts, state carried
    (stateful) and from a zero state."""
    spec, data, at = run.scenario.spec, run.data, run.where(seed)
    predictor = predictor or run.seed(seed).predictor
    model = StackedLSTM(weights, run.scenario.options.gate_activation)
    ours = model.predict_training_set(data.x, spec.stateful)[0]
    close_predictions(np.asarray(predict_training_set(spec, data, predictor)), ours, at, REFERENCE_ATOL)
    if spec.stateful:
        zero_state = np.asarray(predictor.predict_proba(data.x))
        close_predictions(zero_state, model.run(data.x)[0][0], f"{at}, zero state", REFERENCE_ATOL)


def check_reference(s: Session) -> str:
    runs = main_runs(s)
    gated = "timestep_window" if "timestep_window" in s.budget.scenarios else s.budget.scenarios[0]
    runs.append(s.run(s.executions[0], gated, seeds=s.budget.seeds[:1], gate="hard_sigmoid_2017"))
    for run in runs:
        for seed in run.seeds:
            weights = snapshot_of(s, run, seed)
            if weights is None:
                raise CheckSkipped("the predictor's weights are in no known layout (backends.weights."
                                   "to_snapshot) and the backend takes no snapshots")
            reference_agrees(run, seed, weights)
    return (f"{len(runs)} trainings predict as the numpy reference on their weights "
            f"(atol {REFERENCE_ATOL:g}), hard_sigmoid_2017 gates on {gated} included")


def check_transfer(s: Session) -> str:
    """Weights set into a predictor read back as set and predict as the reference on them; the
    original weights then restore the original model."""
    rng = np.random.default_rng(0)
    runs = [s.main(s.executions[0], sid) for sid in s.budget.scenarios]
    for run in runs:
        seed = run.seeds[0]
        predictor, at = run.seed(seed).predictor, run.where(seed)
        if not callable(getattr(predictor, "set_weights", None)):
            raise CheckSkipped("the predictor has no set_weights(weights)")
        native = {k: np.array(v, copy=True) for k, v in predictor.weights().items()}
        try:
            to_snapshot(native)
        except ValueError as exc:
            raise CheckSkipped(str(exc)) from None
        moved = {k: (v + 0.05 * rng.standard_normal(v.shape)).astype(v.dtype) for k, v in native.items()}
        before = np.asarray(predict_training_set(run.scenario.spec, run.data, predictor))
        predictor.set_weights(moved)
        same_arrays(predictor.weights(), moved, f"{at}: weights() after set_weights")
        reference_agrees(run, seed, to_snapshot(moved), predictor)
        predictor.set_weights(native)
        same_arrays(predictor.weights(), native, f"{at}: weights() after restoring")
        after = np.asarray(predict_training_set(run.scenario.spec, run.data, predictor))
        expect(np.array_equal(before, after), f"{at}: restored weights predict otherwise")
    return f"set_weights round-trips and matches the reference on {len(runs)} scenarios"
