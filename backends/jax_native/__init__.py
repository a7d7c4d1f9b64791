"""The native JAX backend ("jax"): the tutorial's model in Flax NNX, trained with Optax, as JAX
users write it (`backend`, the model and its predictor in `model`), one seed at a time
(`idiomatic`) or every seed of a call in one compiled program (`fast`).

Named jax_native, not jax, so it never shadows the framework. Imports nothing but
`backends.entry.BackendEntry`: the registry lists this backend without importing JAX.
"""

from backends.entry import BackendEntry

# Opt-in (default=False), like keras-jax: `--backend jax`; `pip install -e '.[jax]'`.
ENTRY = BackendEntry(
    "jax", "backends.jax_native.backend", requires=("jax", "flax", "optax"),
    distributions=("jax", "jaxlib", "flax", "optax"), extra="jax", default=False,
)
