"""Registries of reidengine: one child of every MMEngine root registry, scope ``reidengine``.

Plugins register into these registries under distinct names (e.g. ``PATViT``): a registry
created inside ``plugins.*`` would infer the scope ``plugins`` and not be found from configs
whose ``default_scope`` is ``reidengine``.
"""
from .registry import (DATA_SAMPLERS, DATASETS, EVALUATOR, FUNCTIONS, HOOKS, INFERENCERS,
                       LOG_PROCESSORS, LOOPS, METRICS, MODEL_WRAPPERS, MODELS,
                       OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS, PARAM_SCHEDULERS,
                       RUNNER_CONSTRUCTORS, RUNNERS, STRATEGIES, TASK_UTILS, TRANSFORMS,
                       VISBACKENDS, VISUALIZERS, WEIGHT_INITIALIZERS)

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'DATASETS',
    'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS',
    'TASK_UTILS', 'METRICS', 'EVALUATOR', 'VISUALIZERS', 'VISBACKENDS', 'INFERENCERS',
    'FUNCTIONS', 'STRATEGIES'
]
