"""Populated by the modules of this package."""
