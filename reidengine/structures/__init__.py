from .reid_data_sample import ReIDDataSample, stack_meta

__all__ = ["ReIDDataSample", "stack_meta"]
