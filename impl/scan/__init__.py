"""Scans over the affine monoid (M, v): the composition law that makes linear recurrences parallel."""

from .affine import affine_combine, affine_identity, affine_scan

__all__ = ["affine_combine", "affine_identity", "affine_scan"]
