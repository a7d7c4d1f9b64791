"""Keras 3 backends: on TensorFlow (`backend`, whose fast execution `fast` drives the compiled
`program`) and on JAX or PyTorch (`portable`), all training the one model of `model`.

Named keras3, not keras, so it never shadows the framework. Imports nothing: the registry
lists these backends without importing Keras.
"""
