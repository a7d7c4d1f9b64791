"""How the compiled update is obtained and called: inductor's disk caches, the in-process memo,
the direct call, and the layouts it insists on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backends import RuntimeConfig, load_backend
from tests.backends.pytorch.test_backend import make_plan, resolve, train

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")

ROOT = Path(__file__).resolve().parents[3]
# One small fast run in a fresh process; prints the knobs it leaves.
PROBE = """
import json
from backends import RuntimeConfig, load_backend
from tests.backends.pytorch.test_backend import make_plan, resolve, train
backend = load_backend("torch")
knobs = backend.setup(RuntimeConfig(threads=1, execution="fast"))
scenario, data = resolve("one_char", 1)
train(backend, scenario, data, [make_plan(scenario, data.n_samples, seed=s) for s in (0, 1)])
print(json.dumps({k: v for k, v in knobs.items() if k.startswith(("compile", "fast_path"))}))
"""


def fast_backend():
    backend = load_backend("torch")
    knobs = backend.setup(RuntimeConfig(threads=1, execution="fast"))
    return backend, knobs


def weights_after(backend, scenario_id: str, epochs: int, seeds: tuple[int, ...]):
    scenario, data = resolve(scenario_id, epochs)
    plans = [make_plan(scenario, data.n_samples, seed=s, init_seed=50 + s, order_seed=s) for s in seeds]
    return [t.predictor.weights() for t in train(backend, scenario, data, plans)]


def test_disk_caches_serve_a_later_process(tmp_path):
    """The first process compiles (a miss), the next one finds inductor's caches on disk."""
    env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "inductor")}
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=ROOT,
                             env=env, timeout=600, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert [r["fast_path"] for r in runs] == ["compiled", "compiled"]
    assert [r["compile_cache"] for r in runs] == ["miss", "hit"]
    assert runs[1]["compile_cache_counters"].get("fxgraph_cache_hit") == 1
    assert runs[1]["compiled_call"] == "direct"  # this torch's wrapper adds nothing to it


def test_a_process_compiles_each_shape_once():
    backend, knobs = fast_backend()
    first = weights_after(backend, "one_char", 1, (3, 4))
    again = weights_after(backend, "one_char", 1, (3, 4))
    assert knobs["compile_cache"] == "process"
    for a, b in zip(first, again, strict=True):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_direct_call_trains_as_the_wrapped_call(monkeypatch):
    import backends.pytorch.compiled as compiled

    backend, knobs = fast_backend()
    direct = weights_after(backend, "timestep_window", 2, (0, 1))
    assert knobs["compiled_call"] == "direct"
    monkeypatch.setattr(compiled, "_PROGRAMS", {})
    monkeypatch.setattr(compiled, "_find", lambda root, kind: None)  # as if the wrapper hid it
    wrapped = weights_after(backend, "timestep_window", 2, (0, 1))
    assert knobs["compiled_call"] == "wrapped"
    for a, b in zip(direct, wrapped, strict=True):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


def test_program_refuses_another_layout():
    from backends.pytorch.compiled import Program, _layouts

    example = [torch.zeros(2, 3), torch.zeros(4, dtype=torch.int64)]
    program = Program(lambda *args: (), _layouts(example))
    program.check([torch.ones(2, 3), torch.ones(4, dtype=torch.int64)])
    with pytest.raises(ValueError, match="input 0"):
        program.check([torch.zeros(3, 2).t(), example[1]])
    with pytest.raises(ValueError, match="input 1"):
        program.check([example[0], torch.zeros(4)])
