"""Inference APIs."""
