"""SynthReID: a procedurally drawn ReID dataset in the Market-1501 layout."""
from .generator import GENERATOR_VERSION, dataset_dirname, generate_synthreid, style_pid_range, synthreid_params
from .identities import ATTRIBUTES, sample_identities
from .pedestrian import VIEWS, draw_pedestrian, visible_attributes
from .scene import STYLES
from .synthreid import SynthReID

__all__ = [
    'SynthReID', 'GENERATOR_VERSION', 'generate_synthreid', 'synthreid_params', 'dataset_dirname', 'style_pid_range',
    'ATTRIBUTES', 'sample_identities', 'VIEWS', 'draw_pedestrian', 'visible_attributes', 'STYLES'
]
