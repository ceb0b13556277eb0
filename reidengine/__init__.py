"""reidengine: person re-identification on MMEngine; each paper ships as a plugin."""
__version__ = '0.1.0'
