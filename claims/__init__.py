"""Claim-verification harness: the registry, verdict rules, pytest plugin, report and CLI.

Nothing in this package imports torch: reading the registry and rendering the
report work on a machine without it.
"""

from .registry import Claim, Registry, RegistryError, load_registry

__all__ = ["Claim", "Registry", "RegistryError", "load_registry"]
