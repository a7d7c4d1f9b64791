"""One stacked training update written out by hand: LSTM forward, loss, backward and Adam.

Why by hand: the fast execution's compiler (`compiled`) traces this into one aten
graph with no autograd in it, so inductor fuses the gradient of every weight straight into
its Adam update and writes parameters, Adam moments and carried state back in place: no
tensor is allocated per update for them, and a call costs little beyond its arithmetic.
The math is the idiomatic model's: PyTorch's gate order i, f, g, o, the chosen i/f/o gate
activation, per-seed mean cross-entropy and torch.optim.Adam's update (eps from
`stacked.adam_schedule`); the gradients are the chain rule autograd would apply, summed in another order.
torch is imported inside functions, as in the rest of the backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from backends.base import ADAM_BETAS

if TYPE_CHECKING:
    import torch

    Tensors = tuple[torch.Tensor, ...]

# Positional inputs of update_step after the 6 parameters, 6 first and 6 second moments.
STEP_INPUTS = ("h", "c", "x", "y", "batch", "weight", "sched", "loss", "correct")


def mm(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """a @ w per seed: a (S, B, K), w (S, K, N) -> (S, B, N).

    Written as multiply-sum, as are mm_t and outer, so inductor fuses the products into their
    neighbours instead of calling BLAS for every tiny one; a sum over one element is left
    out, so it stays a plain product that inductor inlines where it is used.
    """
    if a.shape[-1] == 1:
        return a * w
    return (a.unsqueeze(-1) * w.unsqueeze(1)).sum(dim=-2)


def mm_t(a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """a @ w.T per seed: a (S, B, N), w (S, K, N) -> (S, B, K)."""
    return (a.unsqueeze(-2) * w.unsqueeze(1)).sum(dim=-1)


def outer(a: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """a.T @ d per seed, the weight gradient of mm: a (S, B, K), d (S, B, N) -> (S, K, N)."""
    return batch_sum(a.unsqueeze(-1) * d.unsqueeze(-2))


def batch_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum over the batch axis (1); a batch of one is a view."""
    return t[:, 0] if t.shape[1] == 1 else t.sum(dim=1)


def to_engine(params: Tensors) -> Tensors:
    """The idiomatic layout (PARAM_NAMES) to the engine's: both LSTM kernels transposed,
    (S, F, 4H) and (S, H, 4H), so the gate axis, the longest, is the contiguous one that
    inductor vectorises, in the products and in Adam alike."""
    import torch

    def transposed(w: torch.Tensor) -> torch.Tensor:  # canonical strides even for size-1 axes
        t = w.transpose(1, 2)
        return torch.empty(t.shape, dtype=t.dtype, device=t.device).copy_(t)

    w_ih, w_hh, *rest = params
    return (transposed(w_ih), transposed(w_hh), *rest)


def from_engine(params: Tensors) -> Tensors:
    """The engine's layout back to the idiomatic one (views)."""
    w_ih_t, w_hh_t, *rest = params
    return (w_ih_t.transpose(1, 2), w_hh_t.transpose(1, 2), *rest)


def gate_and_slope(
    gate: str,
) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]:
    """The i/f/o activation and its derivative, given (pre-activation, activation).

    The hard sigmoid's slope is 0.2 where clamp lets the value through, bounds included, as
    autograd differentiates torch.clamp.
    """
    import torch

    from backends.pytorch.cells import gate_function

    act = gate_function(gate)
    if gate == "sigmoid":
        return act, lambda z, a: a * (1 - a)

    def hard_slope(z: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        u = 0.2 * z + 0.5
        return torch.where((u >= 0) & (u <= 1), 0.2, 0.0)

    return act, hard_slope


def loss_and_grads(
    params: Tensors, xb: torch.Tensor, yb: torch.Tensor, weight: torch.Tensor,
    h: torch.Tensor, c: torch.Tensor, gate: str,
) -> tuple[Tensors, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradients of every seed's own batch loss, the losses, hits and final state.

    params in the engine's layout (to_engine), and so the gradients; xb (S, B, T, F),
    yb (S, B); weight (B,) is 1 for a sample and 0 for the padding of a short last batch,
    divided by the batch's true size; h, c (S, B, H) the entering state, through which no
    gradient flows (the idiomatic loop detaches it). The four gates are handled as one
    (S, B, 4, H) block, so each time step keeps few tensors for the backward pass.
    """
    import torch

    act, slope = gate_and_slope(gate)
    w_ih_t, w_hh_t, b_ih, b_hh, w_out, b_out = params
    seeds, batch, steps, _ = xb.shape
    units = h.shape[-1]
    block = torch.arange(4, device=xb.device).view(4, 1)  # gate order i, f, g, o
    bias = (b_ih + b_hh).unsqueeze(1)  # (S, 1, 4H)
    tape = []
    for t in range(steps):
        x_t = xb[:, :, t]
        z = (bias + mm(x_t, w_ih_t) + mm(h, w_hh_t)).view(seeds, batch, 4, units)
        # tanh on the cell block only, the gate activation on i, f, o only: with batches,
        # evaluating both everywhere made exp and tanh a quarter of the step
        a = torch.cat([act(z[:, :, :2]), torch.tanh(z[:, :, 2:3]), act(z[:, :, 3:])], dim=2)
        i, f, g, o = a.unbind(dim=2)
        c_next = f * c + i * g
        tanh_c = torch.tanh(c_next)
        tape.append((x_t, h, c, z, a, tanh_c))
        h, c = o * tanh_c, c_next
    logits = b_out.unsqueeze(1) + mm_t(h, w_out)  # (S, B, C)
    log_p = torch.log_softmax(logits, dim=-1)
    one_hot = torch.nn.functional.one_hot(yb, logits.shape[-1]).to(logits.dtype)
    sample_loss = -(log_p * one_hot).sum(dim=-1)  # (S, B)
    losses = (sample_loss * weight).sum(dim=1)
    correct = ((logits.argmax(dim=-1) == yb) & (weight > 0)).sum(dim=1)

    d_logits = (log_p.exp() - one_hot) * weight.unsqueeze(-1)
    g_out, g_b_out = outer(d_logits, h), batch_sum(d_logits)
    d_h = mm(d_logits, w_out)
    d_c = torch.zeros_like(d_h)
    g_ih = g_hh = g_b = None
    for t in reversed(range(steps)):
        x_t, h_prev, c_prev, z, a, tanh_c = tape[t]
        i, f, g, o = a.unbind(dim=2)
        d_c = d_c + d_h * o * (1 - tanh_c * tanh_c)
        # d loss / d activation of each gate: i -> d_c * g, f -> d_c * c_prev, g -> d_c * i,
        # o -> d_h * tanh(c)
        partner = torch.where(block == 0, g.unsqueeze(2), torch.where(
            block == 1, c_prev.unsqueeze(2), torch.where(block == 2, i.unsqueeze(2), tanh_c.unsqueeze(2))))
        d_a = torch.where(block == 3, d_h.unsqueeze(2), d_c.unsqueeze(2)) * partner
        d_z = (d_a * torch.where(block == 2, 1 - a * a, slope(z, a))).view(seeds, batch, 4 * units)
        g_ih = _accumulate(g_ih, outer(x_t, d_z))
        g_hh = _accumulate(g_hh, outer(h_prev, d_z))
        g_b = _accumulate(g_b, batch_sum(d_z))
        if t:  # the entering state is a constant: no gradient past the first step
            d_h, d_c = mm_t(d_z, w_hh_t), d_c * f
    return (g_ih, g_hh, g_b, g_b, g_out, g_b_out), losses, correct, h, c


def _accumulate(total: torch.Tensor | None, term: torch.Tensor) -> torch.Tensor:
    return term if total is None else total + term


def adam(
    p: torch.Tensor, m: torch.Tensor, v: torch.Tensor, grad: torch.Tensor, sched: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """torch.optim.Adam's single-tensor update (betas ADAM_BETAS, no weight decay, no amsgrad);
    sched = (lr / bias_c1, 1 / sqrt(bias_c2), eps), lr and eps the scenario's.

    The bias correction multiplies by its reciprocal where torch divides by sqrt(bias_c2):
    one division per element fewer, a difference of at most an ulp in the denominator.
    """
    import torch

    beta1, beta2 = ADAM_BETAS
    m = torch.lerp(m, grad, 1 - beta1)
    v = v * beta2 + (1 - beta2) * grad * grad  # addcmul's order: (value * t1) * t2
    denom = v.sqrt() * sched[1] + sched[2]
    return p - sched[0] * m / denom, m, v  # addcdiv's order: (value * t1) / t2


def update_step(stateful: bool, gate: str) -> Callable[..., tuple]:
    """The in-place update for compilation: (*params, *m, *v, *STEP_INPUTS) -> (), all
    three parameter-shaped groups in the engine's layout (to_engine).

    It trains every seed on its batch (S, B) of sample ids into x, y, with sample weights
    weight (B,) (see loss_and_grads) and Adam's scalars sched (3,) of this step, and writes
    in place the parameters, the moments, each seed's batch loss and correct count into
    loss and correct (S,) and, when stateful, the carried h and c. Per-step inputs are
    views into per-epoch buffers, so one compiled program serves every step.
    """
    import torch

    def step(*args: torch.Tensor) -> tuple:
        params, m, v = args[0:6], args[6:12], args[12:18]
        h, c, x, y, batch, weight, sched, loss_out, correct_out = args[18:]
        h0, c0 = (h, c) if stateful else (torch.zeros_like(h), torch.zeros_like(c))
        grads, loss, hits, h_new, c_new = loss_and_grads(params, x[batch], y[batch], weight, h0, c0, gate)
        for p, mi, vi, g in zip(params, m, v, grads, strict=True):
            p_new, m_new, v_new = adam(p, mi, vi, g, sched)
            p.copy_(p_new)
            mi.copy_(m_new)
            vi.copy_(v_new)
        loss_out.copy_(loss)
        correct_out.copy_(hits)
        if stateful:
            h.copy_(h_new)
            c.copy_(c_new)
        return ()  # a tuple, as inductor's programs return: no wrapper needed to make one

    return step
