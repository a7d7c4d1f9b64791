"""Seed streams: one seed fans out into independent, recorded streams."""

from __future__ import annotations

import numpy as np

from harness.runs.seeds import epoch_orders, make_plan, seed_streams


def test_streams_are_distinct_and_stable():
    streams = seed_streams(3)
    assert len(set(streams.values())) == 3
    assert streams == seed_streams(3) and streams != seed_streams(4)


def test_orders_are_permutations_reproducible_per_seed():
    orders = epoch_orders(1, 25, 4, shuffle=True)
    assert orders.shape == (4, 25)
    assert all(sorted(row) == list(range(25)) for row in orders)
    assert not np.array_equal(orders[0], orders[1])
    assert np.array_equal(orders, epoch_orders(1, 25, 4, shuffle=True))
    assert not np.array_equal(orders, epoch_orders(2, 25, 4, shuffle=True))


def test_unshuffled_orders_are_identity():
    orders = epoch_orders(1, 25, 3, shuffle=False)
    assert (orders == np.arange(25)).all()


def test_plan_uses_the_init_stream():
    plan = make_plan(5, 25, 2, True)
    assert plan.init_seed == seed_streams(5)["init"] and plan.seed == 5
