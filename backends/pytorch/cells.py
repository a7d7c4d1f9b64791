"""The torch backend's model and the pieces beyond nn.LSTM: Keras 2's gate activation, devices.

Why: Keras 2's LSTM (the tutorial's 2017 runs) used `hard_sigmoid` for the input, forget and
output gates; nn.LSTM has the logistic sigmoid built in. `--gate-activation hard_sigmoid_2017`
swaps in `GateLSTM`, a drop-in for a one-layer, batch-first nn.LSTM with the same parameter
names, shapes and initial values, so state_dicts, weight mapping and predictors are unchanged.
torch is imported lazily, as in the rest of the backend.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from scenarios.spec import GATE_ACTIVATIONS

if TYPE_CHECKING:
    import torch
    from torch import nn

GateFn = Callable[["torch.Tensor"], "torch.Tensor"]


def hard_sigmoid_2017(x: torch.Tensor) -> torch.Tensor:
    """Keras 2's hard_sigmoid: clip(0.2 x + 0.5, 0, 1) (not torch's hardsigmoid, slope 1/6)."""
    import torch

    return torch.clamp(0.2 * x + 0.5, 0.0, 1.0)


def gate_function(name: str) -> GateFn:
    """The activation of the i, f, o gates for a `gate_activation` option value."""
    import torch

    if name == "sigmoid":
        return torch.sigmoid
    if name == "hard_sigmoid_2017":
        return hard_sigmoid_2017
    raise ValueError(f"unknown gate activation {name!r}; valid choices: {', '.join(GATE_ACTIVATIONS)}")


def sync(device: str | torch.device) -> None:
    """Wait for queued GPU work before a clock read, so timings cover it; no-op on cpu."""
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def cuda_knobs(deterministic: bool) -> dict:
    """Full float32 matmuls on the GPU (TF32 off), so cpu and cuda results stay comparable.

    Deterministic cuBLAS needs a fixed workspace, set before the first cuBLAS call.
    """
    import torch

    knobs: dict = {}
    if deterministic:  # read when cuBLAS starts; a value the user set is kept
        knobs["cublas_workspace_config"] = os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return {"gpu_name": torch.cuda.get_device_name(0), "tf32": False, **knobs}


@lru_cache(maxsize=1)
def model_class() -> type[nn.Module]:
    """The alphabet model's class, defined on first use so torch is imported lazily."""
    from torch import nn

    class AlphabetLSTM(nn.Module):
        """LSTM + dense head; logits of the last time step (softmax lives in the loss).

        nn.LSTM has the sigmoid gates built in; another gate activation takes GateLSTM, which
        has nn.LSTM's parameter names and initial values.
        """

        def __init__(self, features: int, units: int, n_classes: int, gate: str = "sigmoid") -> None:
            super().__init__()
            if gate == "sigmoid":
                self.lstm = nn.LSTM(input_size=features, hidden_size=units, batch_first=True)
            else:
                self.lstm = gate_lstm_class()(features, units, gate)
            self.head = nn.Linear(units, n_classes)

        def forward(
            self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
        ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
            out, state = self.lstm(x, state)  # state None: zeros for every sample
            return self.head(out[:, -1]), state

    return AlphabetLSTM


@lru_cache(maxsize=1)
def gate_lstm_class() -> type[nn.Module]:
    """Define the module class on first use, so torch is imported lazily."""
    import torch
    from torch import nn

    class GateLSTM(nn.Module):
        """One-layer batch-first LSTM, gate order i, f, g, o, with a chosen i/f/o activation.

        Parameters are those of an nn.LSTM built right here, so the RNG draws (and values)
        under a given torch.manual_seed are exactly nn.LSTM's.
        """

        def __init__(self, input_size: int, hidden_size: int, gate: str) -> None:
            super().__init__()
            reference = nn.LSTM(input_size=input_size, hidden_size=hidden_size, batch_first=True)
            self.hidden_size = hidden_size
            self.gate_activation = gate
            self._gate = gate_function(gate)
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                self.register_parameter(name, nn.Parameter(getattr(reference, name).detach().clone()))

        def forward(
            self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
        ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
            """x (B, T, F); state (h, c) each (1, B, H) or None for zeros, as nn.LSTM."""
            if state is None:
                h = c = x.new_zeros(x.shape[0], self.hidden_size)
            else:
                h, c = state[0][0], state[1][0]
            projected = x @ self.weight_ih_l0.T + self.bias_ih_l0  # every step's input part at once
            outputs = []
            for t in range(x.shape[1]):
                gates = projected[:, t] + h @ self.weight_hh_l0.T + self.bias_hh_l0
                i, f, g, o = gates.chunk(4, dim=-1)
                c = self._gate(f) * c + self._gate(i) * torch.tanh(g)
                h = self._gate(o) * torch.tanh(c)
                outputs.append(h)
            return torch.stack(outputs, dim=1), (h.unsqueeze(0), c.unsqueeze(0))

        def extra_repr(self) -> str:
            return f"hidden_size={self.hidden_size}, gate_activation={self.gate_activation}"

    return GateLSTM
