"""Inference APIs: build a trained model, extract features, search a gallery."""
from .inference import extract_features, init_model, list_images, test_pipeline_cfg
from .search import SEARCH_BACKENDS, faiss_available, search

__all__ = ['init_model', 'extract_features', 'list_images', 'test_pipeline_cfg', 'search',
           'faiss_available', 'SEARCH_BACKENDS']
