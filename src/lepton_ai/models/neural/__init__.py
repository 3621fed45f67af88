"""Torch machinery the neural families share; none of it is a family.

torch_train (the training loop), torch_family (the base of torch families), checkpoint, epochs
(epoch records), augment, export (a fitted network as one module), sequence_nets (``nn.Module``
classes). Everything here imports torch, so nothing imports this package at start-up.
"""
