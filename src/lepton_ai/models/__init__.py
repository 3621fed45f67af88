"""Model families: the extension point, the registry of families, and the task metrics.

Layout: the contract at the top (``base``: :class:`ModelFamily`, ``registry``, ``checks``,
``metrics``); ``families/`` holds one searchable family per file; ``neural/`` the torch machinery
the neural families share (none of it is a family); ``derived/`` the families made from trained
models (compressed variants, ensembles), which are loaded and chosen but never searched.

A user's own family is one :class:`ModelFamily` subclass passed to ``register_family``;
``register_module`` turns a ``torch.nn.Module`` factory into one. ``checks.check_family`` is the
contract every family must pass.
"""

from ..features.prepared import Prepared
from .base import Budget, Cost, Domain, ModelFamily
from .registry import FAMILIES, get_family, register_family, register_module, resolve_families

__all__ = ["ModelFamily", "Budget", "Cost", "Domain", "Prepared", "FAMILIES", "get_family", "resolve_families",
           "register_family", "register_module"]
