"""Compile the hand-written update (backends/pytorch/update.py) with inductor, without TorchDynamo.

Why not `torch.compile`: its per-call work (guard checks over ~30 tensors, the AOTAutograd
wrapper, size asserts) costs several times a small model's whole update. Here the update
is traced once into an aten graph (make_fx, on fake tensors: nothing runs) and handed to
`torch._inductor.compile`, inductor's entry point for graphs captured without TorchDynamo;
the program it returns is called directly, with the very layouts it was compiled for.

Inductor's on-disk caches (FX graph cache, AOTAutograd cache) serve a later process
compiling the same graph: the key is the traced graph and its input shapes, so it stays
the same from job to job of a scenario and seed count (lr and eps arrive as tensors, not
constants). `CompileReport.cache` says whether this compile was served from them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

# Size asserts check every input's layout at every call; layouts are checked once, when the
# calls are built, instead (Program.check). One thread: a step's ~20 loops are microseconds
# each, and with two OpenMP threads every loop ends in a barrier, where a thread whose core
# was lent to any other process for a moment (even the harness's progress display) stalls
# the whole step. A C++ wrapper with planned memory: the update is one fused kernel, and its
# Python wrapper's ~50 buffer allocations were most of a small step (variable_length, 10 seeds:
# 14.0 -> 11.1 µs per seed-update here); the kernel is the same, and so are the results, bit for bit.
INDUCTOR_OPTIONS = {"size_asserts": False, "cpp.threads": 1, "cpp_wrapper": True, "memory_planning": True}
CACHE_COUNTERS = (
    ("inductor", "fxgraph_cache_hit"), ("inductor", "fxgraph_cache_miss"),
    ("inductor", "fxgraph_cache_bypass"), ("aot_autograd", "autograd_cache_hit"),
    ("aot_autograd", "autograd_cache_miss"), ("aot_autograd", "autograd_cache_bypass"),
)


@dataclass
class CompileReport:
    """How the program came to be, for the run's knobs."""

    cache: str  # "hit" (inductor's disk caches), "miss", "bypass" or "process" (compiled earlier here)
    call: str  # Program.call
    counters: dict[str, int] = field(default_factory=dict)  # the cache counters this compile moved


@dataclass
class Program:
    """A compiled update and the input layouts it was compiled for."""

    run: Callable[..., object]
    layouts: tuple[tuple[tuple[int, ...], tuple[int, ...], str], ...]
    call: str = "wrapped"  # "direct": inductor's program alone, without AOTAutograd's wrapper

    def check(self, args: Sequence[torch.Tensor]) -> None:
        """Refuse inputs of another shape, stride or dtype: the program reads them unchecked."""
        found = _layouts(args)
        if found != self.layouts:
            bad = next(i for i, (a, b) in enumerate(zip(found, self.layouts, strict=True)) if a != b)
            raise ValueError(f"compiled update: input {bad} is {found[bad]}, "
                             f"compiled for {self.layouts[bad]}")


_PROGRAMS: dict[tuple, Program] = {}


def _layouts(args: Sequence[torch.Tensor]) -> tuple[tuple[tuple[int, ...], tuple[int, ...], str], ...]:
    return tuple((tuple(a.shape), tuple(a.stride()), str(a.dtype)) for a in args)


def compile_program(
    key: tuple, fn: Callable[..., object], example: Sequence[torch.Tensor]
) -> tuple[Program, CompileReport]:
    """The compiled fn for inputs laid out as `example`; one per key and layout per process.

    `example` itself is never written: tracing sees fake tensors, and the check of the
    direct call runs on copies. Raises whatever tracing or compiling raises.
    """
    import torch

    layouts = _layouts(example)
    memo = (key, layouts)
    cached = _PROGRAMS.get(memo)
    if cached is not None:
        return cached, CompileReport("process", cached.call)
    import torch._inductor
    from torch._dynamo.utils import counters
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.experimental.proxy_tensor import make_fx
    from torch.fx.experimental.symbolic_shapes import ShapeEnv

    before = {name: counters[group][name] for group, name in CACHE_COUNTERS}
    fake_mode = FakeTensorMode(shape_env=ShapeEnv())  # the caches need a shape environment
    fakes = [fake_mode.from_tensor(t, static_shapes=True) for t in example]
    with fake_mode, torch.no_grad():
        graph = make_fx(fn)(*fakes)
    run = torch._inductor.compile(graph, fakes, options=INDUCTOR_OPTIONS)
    moved = {name: counters[group][name] - before[name] for group, name in CACHE_COUNTERS}
    direct = _direct_call(run, example)
    program = Program(direct or run, layouts, "wrapped" if direct is None else "direct")
    _PROGRAMS[memo] = program
    return program, CompileReport(_cache_outcome(moved), program.call, {k: v for k, v in moved.items() if v})


def _direct_call(run: Callable[..., object], example: Sequence[torch.Tensor]) -> Callable[..., object] | None:
    """Inductor's program inside AOTAutograd's runtime wrapper, where calling it alone is the same.

    Why: the wrapper's bookkeeping (autograd version counters, output pytrees) costs a small
    model's update several microseconds, and with every mutation inside the program and
    nothing returned it has nothing else to do. Taken only when one update from copies of
    `example` leaves bit-identical tensors both ways, so a torch whose wrapper does more
    (writes results back, merges aliased inputs) keeps the wrapper.
    """
    try:
        from torch._inductor.output_code import CompiledFxGraph
    except ImportError:
        return None
    graph = _find(run, CompiledFxGraph)
    if graph is None or graph.current_callable is None or graph.inputs_to_check:
        return None
    inner = graph.current_callable

    def direct(*args: torch.Tensor) -> object:
        return inner(list(args))

    wrapped, alone = [t.clone() for t in example], [t.clone() for t in example]
    run(*wrapped)
    direct(*alone)
    same = all(_bits(a).equal(_bits(b)) for a, b in zip(wrapped, alone, strict=True))
    return direct if same else None


def _find(root: object, kind: type, depth: int = 10) -> object | None:
    """The first `kind` among the closures, `__wrapped__` and attributes reachable from root."""
    seen: set[int] = set()
    level = [root]
    for _ in range(depth):
        found: list[object] = []
        for obj in level:
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            if isinstance(obj, kind):
                return obj
            for cell in getattr(obj, "__closure__", None) or ():
                with contextlib.suppress(ValueError):  # an empty cell
                    found.append(cell.cell_contents)
            found.extend(v for v in (getattr(obj, "__wrapped__", None), getattr(obj, "__self__", None)) if v)
            if callable(obj) and hasattr(obj, "__dict__") and not isinstance(obj, type):
                found.extend(vars(obj).values())
        level = found
    return None


def _bits(t: torch.Tensor) -> torch.Tensor:
    """The tensor's bits, so NaNs compare equal to themselves."""
    import torch

    width = {torch.float32: torch.int32, torch.float64: torch.int64}.get(t.dtype)
    return t if width is None else t.view(width)


def _cache_outcome(moved: dict[str, int]) -> str:
    if moved["fxgraph_cache_bypass"] or moved["autograd_cache_bypass"]:
        return "bypass"
    if moved["fxgraph_cache_miss"] or moved["autograd_cache_miss"]:
        return "miss"
    return "hit" if moved["fxgraph_cache_hit"] or moved["autograd_cache_hit"] else "unknown"


def prepare() -> dict[str, object]:
    """Load the compiler stack once per process, before any training is timed.

    Importing inductor and probing the CPU's vector instructions (it builds and loads test
    libraries in subprocesses) cost seconds per process, whatever the model: framework
    start-up, like importing TensorFlow, not compilation of a model.
    """
    import torch._inductor.compile_fx  # noqa: F401  (the import is the point)
    from torch._inductor.cpu_vec_isa import pick_vec_isa
    from torch.fx.experimental import proxy_tensor  # noqa: F401

    return {"compiler_vec_isa": str(pick_vec_isa()) or "none",
            "compiled_threads": INDUCTOR_OPTIONS["cpp.threads"],
            "inductor_options": ", ".join(f"{k}={v}" for k, v in INDUCTOR_OPTIONS.items()),
            **cache_settings()}


def cache_settings() -> dict[str, object]:
    """Whether inductor's on-disk caches are on, and where they live, for the knobs."""
    try:
        import torch._functorch.config as functorch_config
        import torch._inductor.config as inductor_config
        from torch._inductor.runtime.cache_dir_utils import cache_dir

        return {
            "fx_graph_cache": inductor_config.fx_graph_cache and not inductor_config.force_disable_caches,
            "autograd_cache": bool(functorch_config.enable_autograd_cache),
            "cache_dir": cache_dir(),
        }
    except Exception as exc:  # private modules: report, never fail the run over it
        return {"cache_settings_note": f"{type(exc).__name__}: {exc}"}
