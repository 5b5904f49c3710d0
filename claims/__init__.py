"""Claim-verification harness: the registry, verdict rules, pytest plugin, report and CLI, and
the protocol experiments run by (cells, device, scale, results store, executors).

Nothing in this package imports torch when it is imported (cells import it when they run):
reading the registry and rendering the report work on a machine without it. Only the CLI's
modules (cli*.py) import `impl`: the experiment libraries and the spectrum command's.
"""

from .registry import Claim, Registry, RegistryError, load_registry

__all__ = ["Claim", "Registry", "RegistryError", "load_registry"]
