"""Plugins: one package per paper; each registers its components into the core registries."""
