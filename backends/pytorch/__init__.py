"""The PyTorch backend (`backend`), its model (`cells`), the idiomatic loop (`idiomatic`) and the
fast execution (`fast`): stacked parameters (`stacked`) trained by a hand-written update
(`update`) compiled by inductor (`compiled`), or eagerly (`eager`) where it cannot be.

Named pytorch, not torch, so it never shadows the framework. Imports nothing: the registry
lists this backend without importing torch.
"""
