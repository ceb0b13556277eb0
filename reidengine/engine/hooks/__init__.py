"""Hooks of the engine."""
