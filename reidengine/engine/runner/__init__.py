from .checkpoint_io import CheckpointLoadError, load_checkpoint_safe
from .multi_set_loops import ReIDTestLoop, ReIDValLoop, results_table
from .reid_runner import ReIDEpochBasedTrainLoop, ReIDRunner, seed_worker

__all__ = ['ReIDTestLoop', 'ReIDValLoop', 'results_table', 'ReIDRunner', 'ReIDEpochBasedTrainLoop',
           'seed_worker', 'CheckpointLoadError', 'load_checkpoint_safe']
