"""The PyTorch backend (`backend`), its stacked fast engine (`fast`) and model (`cells`).

Named pytorch, not torch, so it never shadows the framework. Imports nothing: the registry
lists this backend without importing torch.
"""
