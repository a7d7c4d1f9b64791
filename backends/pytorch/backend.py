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

    def setup(self, config: RuntimeConfig) -> dict:
        """Process-wide knobs; calling it again (tests) switches the execution of this instance.

        In fast mode the returned dict is live: should compilation fail at run time, train()
        rewrites "fast_path" there, so records built after training show the path that ran.
        """
        import torch

        check_config("torch", config, EXECUTIONS)
        if config.device == "cuda" and not torch.cuda.is_available():
            build = f"built for CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise RuntimeError(f"--device cuda: PyTorch sees no GPU (torch {torch.__version__}, {build}; "
                               "torch.cuda.is_available() is False); use --device cpu")
        torch.set_num_threads(config.threads)
        interop_note = None
        try:
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
        if config.execution == "fast":
            knobs.update(_fast_path_knobs())
        self._execution, self._device, self._knobs = config.execution, config.device, knobs
        return knobs

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
        result = train_stacked(
            scenario, layout, tuple(p.to(x.device) for p in params), x, y, np.stack(orders),
            progress=progress, compile_step=self._knobs.get("fast_path") == "compiled",
            snapshots=snapshots, seeds=tuple(plan.seed for plan in plans),
        )
        self._knobs["fast_path"] = result.path
        if result.note is not None:
            self._knobs["fast_path_note"] = result.note
        if result.compile is not None:  # how this run's program was obtained: compiled or cached
            self._knobs["compile_cache"] = result.compile.cache
            self._knobs["compile_cache_counters"] = result.compile.counters
            self._knobs["compiled_call"] = result.compile.call
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


def _fast_path_knobs() -> dict:
    """Compile the fast step only where inductor finds a C++ compiler; else stacked eager.

    Where it does, the compiler stack is loaded here, once per process and untimed
    (compiled.prepare); the model's own compilation stays in its first epoch.
    """
    try:
        from torch._inductor.cpp_builder import get_cpp_compiler

        from backends.pytorch.compiled import prepare

        return {"fast_path": "compiled", "fast_path_compiler": get_cpp_compiler(), **prepare()}
    except Exception as exc:  # private API or no compiler: eager is always available
        return {"fast_path": "eager-stacked", "fast_path_note": f"{type(exc).__name__}: {exc}"}


BACKEND_CLASS = TorchBackend
