"""A user's own default backends ($ALPHABET_BENCH_DEFAULT_BACKENDS) stand in for --backend when it is
not given, checked exactly as --backend is; without it a run takes the installed non-opt-in ones."""

from __future__ import annotations

import pytest

from backends import default_backends, is_installed
from harness.validate import DEFAULTS_ENV, UsageError, check_backends


def test_without_the_variable_the_installed_defaults_run(monkeypatch):
    monkeypatch.delenv(DEFAULTS_ENV, raising=False)
    assert check_backends(None, ("fast",)) == tuple(default_backends())
    assert "jax" not in default_backends()  # opt-in: the mission's pair runs unless asked


def test_the_variable_sets_the_default_and_the_flag_still_wins(monkeypatch):
    if not (is_installed("torch") and is_installed("jax")):
        pytest.skip("needs torch and jax: pip install -e '.[torch,jax]'")
    monkeypatch.setenv(DEFAULTS_ENV, " torch , jax,torch")
    assert check_backends(None, ("fast",)) == ("torch", "jax")
    assert check_backends(["torch"], ("fast",)) == ("torch",)


def test_a_wrong_name_in_the_variable_is_refused_naming_it_and_the_choices(monkeypatch):
    monkeypatch.setenv(DEFAULTS_ENV, "torch,tensorflow")
    refusal = rf"{DEFAULTS_ENV}: 'tensorflow' is not a backend; valid choices: .*torch"
    with pytest.raises(UsageError, match=refusal):
        check_backends(None, ("fast",))
