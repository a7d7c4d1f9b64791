"""The torch backend: the tutorial's model (`cells`) and its predictor, trained by either
execution: "idiomatic", one seed at a time in a plain eager PyTorch loop (`idiomatic`), or
"fast", all seeds of a call at once as one stacked, compiled program (`fast`).

torch is imported only inside functions so that importing this module (and
listing backends) stays cheap and works where torch is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from backends.base import (
    EXECUTIONS,
    Backend,
    RuntimeConfig,
    SeedPlan,
    SeedTraining,
    SnapshotRequest,
    check_config,
)
from backends.pytorch import paths
from backends.timing import ProgressFn
from scenarios import AlphabetData, ResolvedScenario

if TYPE_CHECKING:
    import torch
    from torch import nn

# EXECUTIONS (imported from backends.base): this backend implements both.


def gpu_count() -> int:
    """GPUs PyTorch sees (0 if it cannot ask), so the harness can refuse --device cuda up front."""
    try:
        import torch

        return int(torch.cuda.device_count())
    except Exception:
        return 0


def build_model(scenario: ResolvedScenario, init_seed: int) -> nn.Module:
    """A freshly initialised model; the seed is set right before construction."""
    import torch

    from backends.initializers import initial_weights
    from backends.pytorch.cells import model_class

    torch.manual_seed(init_seed)
    spec = scenario.spec
    model = model_class()(spec.features, scenario.units, scenario.n_classes, scenario.options.gate_activation)
    override = initial_weights(scenario.options.init, "torch", spec.features, scenario.units,
                               scenario.n_classes, init_seed)
    if override is not None:  # the init ablation: another framework's defaults
        model.load_state_dict({k: torch.from_numpy(v) for k, v in override.items()})
    return model


class TorchPredictor:
    """Evaluation view of a trained model (eval mode, no autograd)."""

    def __init__(self, model: nn.Module, stateful: bool) -> None:
        self._model = model.eval()
        self._stateful = stateful
        self._state: tuple[torch.Tensor, torch.Tensor] | None = None

    def _forward(self, x: np.ndarray, carry: bool) -> np.ndarray:
        import torch

        with torch.no_grad():
            xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
            logits, state = self._model(xt, self._state if carry else None)
            if carry:
                self._state = state
            return torch.softmax(logits, dim=-1).numpy()

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x, carry=False)

    def reset_state(self) -> None:
        self._state = None  # None is the zero state

    def step(self, x: np.ndarray) -> np.ndarray:
        return self._forward(x, carry=self._stateful)[0]

    def weights(self) -> dict[str, np.ndarray]:
        return {name: t.detach().numpy().copy() for name, t in self._model.state_dict().items()}

    def set_weights(self, state: dict[str, np.ndarray]) -> None:
        """Load a numpy `state_dict` (e.g. mapped from Keras) as float32 copies; clears carried state.

        `load_state_dict(strict=True)` refuses missing or extra names, and shapes are checked.
        """
        import torch

        tensors = {name: torch.tensor(np.asarray(a, dtype=np.float32)) for name, a in state.items()}
        self._model.load_state_dict(tensors, strict=True)
        self._state = None


class TorchBackend(Backend):
    name = "torch"
    anytime = True

    def __init__(self) -> None:
        self._execution = "idiomatic"
        self._device = "cpu"
        self._knobs: dict = {}
        # The fast path setup asked for, one a caller forced through the knob, what the knob last showed.
        self._asked = self._forced = self._shown = None
        self._run: dict = {}  # the last train() call's path knobs (run_knobs)

    def setup(self, config: RuntimeConfig) -> dict:
        """Process-wide knobs; calling it again (tests) switches the execution of this instance.

        In fast mode the returned dict is live: train() writes the path each call ran there
        ("fast_path", "fast_path_reason"), and `run_knobs` returns them. ALPHABET_BENCH_TORCH_PATH
        (`paths.setting`) says which path: "auto" (default: per job, `paths.choose`), "compiled"
        or "eager". A caller may set knobs["fast_path"] after setup to force a path (tests do).
        """
        import torch

        check_config("torch", config, EXECUTIONS)
        if config.device == "cuda" and not torch.cuda.is_available():
            build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise RuntimeError(f"--device cuda: PyTorch sees no GPU (torch {torch.__version__}, {build}; "
                               "torch.cuda.is_available() is False); use --device cpu")
        torch.set_num_threads(config.threads)
        interop_note = None
        try:  # a second setup in a process (a reused worker) finds it set already
            if torch.get_num_interop_threads() != 1:
                torch.set_num_interop_threads(1)
        except RuntimeError as exc:  # only settable before any parallel work ran
            interop_note = str(exc)
        torch.use_deterministic_algorithms(config.deterministic)
        knobs = {
            "intra_op_threads": torch.get_num_threads(),
            "inter_op_threads": torch.get_num_interop_threads(),
            "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
            "execution": config.execution,
            "dtype": "float32",
        }
        if interop_note is not None:
            knobs["inter_op_threads_note"] = interop_note
        knobs["device"] = config.device
        if config.device == "cuda":
            from backends.pytorch.cells import cuda_knobs

            knobs.update(cuda_knobs(config.deterministic))
        self._run = {}
        if config.execution == "fast":
            chosen = paths.setting()
            knobs.update(paths.setup_knobs(chosen))
            self._asked = {"auto": "auto", "compiled": paths.COMPILED, "eager": paths.EAGER}[chosen]
            self._forced, self._shown = None, knobs["fast_path"]
        self._execution, self._device, self._knobs = config.execution, config.device, knobs
        return knobs

    def run_knobs(self) -> dict:
        """The path the last fast train() call ran and why (and how it compiled): per job, so a
        record's runtime should take these over setup's knobs. Empty for idiomatic."""
        return dict(self._run)

    def versions(self) -> dict[str, str]:
        import torch

        return {"torch": torch.__version__}

    def train(
        self,
        scenario: ResolvedScenario,
        data: AlphabetData,
        plans: list[SeedPlan],
        progress: ProgressFn,
        snapshots: SnapshotRequest | None = None,
    ) -> Iterator[SeedTraining]:
        """Idiomatic: one seed after another (snapshots of one seed); fast: all seeds at once."""
        import torch

        from backends.pytorch.idiomatic import train_one

        orders = [plan.checked_orders(scenario) for plan in plans]  # refuse a wrong plan up front
        x = torch.from_numpy(np.ascontiguousarray(data.x, dtype=np.float32)).to(self._device)
        y = torch.from_numpy(np.ascontiguousarray(data.y, dtype=np.int64)).to(self._device)
        if self._execution == "fast":
            yield from self._train_fast(scenario, x, y, plans, orders, progress, snapshots)
            return
        for plan, order in zip(plans, orders, strict=True):
            model = build_model(scenario, plan.init_seed).to(self._device)
            run = train_one(model, scenario, x, y, plan.seed, order, progress, snapshots)
            yield SeedTraining(  # the model comes back on cpu, for the predictor
                seed=plan.seed, predictor=TorchPredictor(model.cpu(), scenario.spec.stateful),
                epoch_loss=run.epoch_loss, epoch_accuracy=run.epoch_accuracy, timing=run.timing,
                updates=run.updates,
            )

    def _train_fast(
        self,
        scenario: ResolvedScenario,
        x: torch.Tensor,
        y: torch.Tensor,
        plans: list[SeedPlan],
        orders: list[np.ndarray],
        progress: ProgressFn,
        snapshots: SnapshotRequest | None,
    ) -> Iterator[SeedTraining]:
        """All plans at once; every seed starts from exactly its idiomatic initialisation."""
        from backends.pytorch.fast import train_stacked
        from backends.pytorch.stacked import Layout

        if not plans:
            return
        spec = scenario.spec
        layout = Layout(spec.features, scenario.units, scenario.n_classes)
        params = layout.stack([build_model(scenario, plan.init_seed) for plan in plans])
        compile_step, run = self._path_for(scenario, len(plans))  # before the clock: loads a compiler
        result = train_stacked(
            scenario, layout, tuple(p.to(x.device) for p in params), x, y, np.stack(orders),
            progress=progress, compile_step=compile_step,
            snapshots=snapshots, seeds=tuple(plan.seed for plan in plans),
        )
        run["fast_path"] = result.path
        if result.note is not None:
            run["fast_path_note"] = result.note
            run["fast_path_reason"] += "; compiling failed, ran eager (fast_path_note)"
        if result.compile is not None:  # how this run's program was obtained: compiled or cached
            run.update(compile_cache=result.compile.cache, compile_cache_counters=result.compile.counters,
                       compiled_call=result.compile.call)
        for key in paths.RUN_KEYS:  # a previous call's, on this instance
            self._knobs.pop(key, None)
        self._knobs.update(run)
        self._run, self._shown = run, result.path
        for row, plan in enumerate(plans):
            model = build_model(scenario, plan.init_seed)  # on cpu, for the predictor
            model.load_state_dict(layout.state_dict(result.params, row))
            yield SeedTraining(
                seed=plan.seed,
                predictor=TorchPredictor(model, spec.stateful),
                epoch_loss=[float(v) for v in result.epoch_loss[row]],
                epoch_accuracy=[float(v) for v in result.epoch_accuracy[row]],
                timing=result.timing,
                updates=result.updates_per_seed,
            )

    def _path_for(self, scenario: ResolvedScenario, seeds: int) -> tuple[bool, dict]:
        """Whether this call compiles, and its path knobs so far (setting, reason, compiler)."""
        knob = self._knobs.get("fast_path")
        if knob != self._shown:  # not what setup or the last call wrote: a caller forces a path
            self._forced = knob
        asked = self._forced or self._asked
        chosen = self._knobs.get("fast_path_setting", "auto")
        if asked == "auto":
            path, reason = paths.choose("auto", scenario.updates_per_seed, scenario.spec.timesteps, seeds,
                                        self._device)
        elif asked in (paths.COMPILED, paths.EAGER):
            path = asked
            reason = (f"{paths.PATH_ENV}={chosen}" if asked == self._asked
                      else f"fast_path={asked!r} set after setup")
        else:
            raise ValueError(f"fast_path={asked!r}: expected auto, {paths.COMPILED} or {paths.EAGER}")
        run: dict = {"fast_path_setting": chosen, "fast_path": path, "fast_path_reason": reason}
        if path == paths.COMPILED:
            run.update(paths.compiler_knobs())  # once per process, untimed (framework start-up)
            if run["fast_path"] != paths.COMPILED:
                run["fast_path_reason"] += "; no usable C++ compiler: eager (fast_path_note)"
        return run["fast_path"] == paths.COMPILED, run


BACKEND_CLASS = TorchBackend
