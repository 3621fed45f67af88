"""Model families: the extension point, the registry of families, and the task metrics.

A family is one :class:`ModelFamily` subclass in one file, registered in ``registry.FAMILIES``;
``checks.check_family`` is the contract it must pass. ``register_module`` turns a user's
``torch.nn.Module`` factory into a family.
"""

from .base import Budget, Cost, Domain, ModelFamily, Prepared
from .custom import register_module
from .registry import FAMILIES, get_family, resolve_families

__all__ = ["ModelFamily", "Budget", "Cost", "Domain", "Prepared", "FAMILIES", "get_family", "resolve_families",
           "register_module"]
