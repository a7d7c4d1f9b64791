"""The hand-written update (backends/pytorch/update.py) is autograd's and torch.optim.Adam's math."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from backends.pytorch.eager import _loss  # noqa: E402
from backends.pytorch.stacked import adam_schedule  # noqa: E402
from backends.pytorch.update import adam, from_engine, loss_and_grads, to_engine  # noqa: E402

# (seeds, batch, time steps, features, units, classes): one step and one sample (one_char),
# several time steps (timestep_window) and features (feature_window), a batch (batch_state).
SHAPES = [(3, 1, 1, 1, 8, 26), (2, 1, 3, 1, 8, 26), (2, 1, 1, 3, 8, 26), (2, 5, 2, 2, 4, 27)]


def _problem(seeds, batch, steps, features, units, classes, scale=1.0):
    gen = torch.Generator().manual_seed(seeds * 100 + batch * 10 + steps)
    g, h = 4 * units, units
    shapes = [(g, features), (g, h), (g,), (g,), (classes, h), (classes,)]
    params = tuple(torch.randn(seeds, *shape, generator=gen) * scale for shape in shapes)
    xb = torch.rand(seeds, batch, steps, features, generator=gen)
    yb = torch.randint(0, classes, (seeds, batch), generator=gen)
    state = tuple(torch.randn(seeds, batch, units, generator=gen) * 0.5 for _ in range(2))
    return params, xb, yb, state


@pytest.mark.parametrize("gate", ["sigmoid", "hard_sigmoid_2017"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("stateful", [False, True])
def test_gradients_are_autograds(shape, gate, stateful):
    """Each seed's gradient of its own mean loss, from a zero or a carried state."""
    params, xb, yb, (h, c) = _problem(*shape, scale=2.0)  # pre-activations reach both clipped ends
    if not stateful:
        h, c = torch.zeros_like(h), torch.zeros_like(c)
    leaves = [p.clone().requires_grad_() for p in params]
    total, (losses, correct, h_ref, c_ref) = _loss(tuple(leaves), xb, yb, h, c, gate)
    expected = torch.autograd.grad(total, leaves)

    weight = torch.full((shape[1],), 1.0 / shape[1])
    grads, got_losses, got_correct, h_new, c_new = loss_and_grads(
        to_engine(params), xb, yb, weight, h, c, gate
    )
    for name, got, want in zip(("w_ih", "w_hh", "b_ih", "b_hh", "w_out", "b_out"),
                               from_engine(grads), expected, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(got_losses.numpy(), losses.numpy(), rtol=1e-6)
    assert torch.equal(got_correct, correct)
    np.testing.assert_allclose(h_new.numpy(), h_ref.numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose(c_new.numpy(), c_ref.numpy(), rtol=0, atol=1e-6)


def test_padding_weighs_nothing():
    """A short last batch is padded with weight 0: loss, hits and gradients are the true batch's."""
    params, xb, yb, (h, _) = _problem(2, 5, 1, 1, 4, 26)
    zeros = torch.zeros_like(h)
    weight = torch.tensor([1 / 3, 1 / 3, 1 / 3, 0.0, 0.0])
    padded = loss_and_grads(to_engine(params), xb, yb, weight, zeros, zeros, "sigmoid")
    short = loss_and_grads(to_engine(params), xb[:, :3], yb[:, :3], weight[:3], zeros[:, :3],
                           zeros[:, :3], "sigmoid")
    for a, b in zip(padded[0], short[0], strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(padded[1].numpy(), short[1].numpy(), rtol=1e-6)
    assert torch.equal(padded[2], short[2])


def test_engine_layout_round_trips():
    params, *_ = _problem(2, 1, 1, 3, 4, 26)
    engine = to_engine(params)
    assert engine[0].shape == (2, 3, 16) and engine[1].shape == (2, 4, 16)
    assert all(t.is_contiguous() for t in engine)
    for a, b in zip(from_engine(engine), params, strict=True):
        assert torch.equal(a, b)


def test_adam_matches_torch_optim_adam():
    gen = torch.Generator().manual_seed(0)
    start = torch.randn(3, 40, generator=gen)
    grads = [torch.randn(3, 40, generator=gen) for _ in range(30)]
    param = start.clone().requires_grad_()
    optimizer = torch.optim.Adam([param], lr=1e-3)
    p, m, v = start.clone(), torch.zeros_like(start), torch.zeros_like(start)
    for grad, sched in zip(grads, adam_schedule(1e-3, len(grads)), strict=True):
        param.grad = grad.clone()
        optimizer.step()
        p, m, v = adam(p, m, v, grad, sched)
    # Same formula and scalars; an element may still differ by an ulp (kernel vs. expression,
    # and the bias correction multiplied by its reciprocal).
    np.testing.assert_allclose(p.numpy(), param.detach().numpy(), rtol=0, atol=1e-6)
