from .multi_set_loops import ReIDTestLoop, ReIDValLoop, results_table

__all__ = ['ReIDTestLoop', 'ReIDValLoop', 'results_table']
