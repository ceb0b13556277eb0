"""Child registries of the MMEngine root registries (scope ``reidengine``).

``locations`` lists the modules imported when a registry is first used, so that
``Runner.from_cfg`` finds every component without the caller importing them.
"""
from mmengine import registry as root
from mmengine.registry import Registry

_SCOPE = 'reidengine'


def _child(name: str, parent: Registry, locations=()) -> Registry:
    return Registry(name, parent=parent, scope=_SCOPE, locations=list(locations))


RUNNERS = _child('runner', root.RUNNERS)
RUNNER_CONSTRUCTORS = _child('runner constructor', root.RUNNER_CONSTRUCTORS)
LOOPS = _child('loop', root.LOOPS, ['reidengine.engine'])
HOOKS = _child('hook', root.HOOKS, ['reidengine.engine'])
LOG_PROCESSORS = _child('log processor', root.LOG_PROCESSORS)
STRATEGIES = _child('strategy', root.STRATEGIES)

DATASETS = _child('dataset', root.DATASETS, ['reidengine.datasets'])
DATA_SAMPLERS = _child('data sampler', root.DATA_SAMPLERS, ['reidengine.datasets'])
TRANSFORMS = _child('transform', root.TRANSFORMS, ['reidengine.datasets'])

MODELS = _child('model', root.MODELS, ['reidengine.models'])
MODEL_WRAPPERS = _child('model_wrapper', root.MODEL_WRAPPERS, ['reidengine.engine'])
WEIGHT_INITIALIZERS = _child('weight initializer', root.WEIGHT_INITIALIZERS)

OPTIMIZERS = _child('optimizer', root.OPTIMIZERS, ['reidengine.engine'])
OPTIM_WRAPPERS = _child('optim_wrapper', root.OPTIM_WRAPPERS, ['reidengine.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor',
                                    root.OPTIM_WRAPPER_CONSTRUCTORS, ['reidengine.engine'])
PARAM_SCHEDULERS = _child('parameter scheduler', root.PARAM_SCHEDULERS, ['reidengine.engine'])

METRICS = _child('metric', root.METRICS, ['reidengine.evaluation'])
EVALUATOR = _child('evaluator', root.EVALUATOR, ['reidengine.evaluation'])
TASK_UTILS = _child('task util', root.TASK_UTILS, ['reidengine.models'])

VISUALIZERS = _child('visualizer', root.VISUALIZERS, ['reidengine.visualization'])
VISBACKENDS = _child('vis_backend', root.VISBACKENDS, ['reidengine.visualization'])
INFERENCERS = _child('inferencer', root.INFERENCERS, ['reidengine.apis'])
FUNCTIONS = _child('function', root.FUNCTIONS)

