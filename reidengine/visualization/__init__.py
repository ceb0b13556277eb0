"""Pictures of results: ranked lists, attention / Grad-CAM, ROC, feature space, training curves."""
from .analysis import pair_distances, pick_queries, rank_test_set
from .attention import capture_attention, draw_attention, grad_cam_maps, overlay
from .plots import (embed_2d, plot_feature_space, plot_roc_histogram, plot_training_curves,
                    read_scalars, roc_curve)
from .ranked_list import cell_box, draw_ranked_lists, load_rgb, save_png

__all__ = [
    'rank_test_set', 'pick_queries', 'pair_distances', 'capture_attention', 'draw_attention',
    'grad_cam_maps', 'overlay', 'embed_2d', 'plot_feature_space', 'plot_roc_histogram',
    'plot_training_curves', 'read_scalars', 'roc_curve', 'cell_box', 'draw_ranked_lists',
    'load_rgb', 'save_png', 'write_test_pictures'
]


def __getattr__(name):  # the test-set pictures import the inference API (lazily: no cycle)
    if name == 'write_test_pictures':
        from .test_pictures import write_test_pictures
        return write_test_pictures
    raise AttributeError(name)
