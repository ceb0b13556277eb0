from mmengine import registry as root

from reidengine import registry
from reidengine.utils import register_all_modules


def test_every_root_registry_has_a_reidengine_child():
    roots = {name: obj for name, obj in vars(root).items()
             if isinstance(obj, root.Registry) and obj.parent is None and name.isupper()}
    assert roots, 'no mmengine root registries found'
    for name, parent in roots.items():
        child = getattr(registry, name, None)
        assert child is not None, f'reidengine.registry lacks a child of {name}'
        assert child.parent is parent
        assert child.scope == 'reidengine'
        assert parent._children['reidengine'] is child


def test_register_all_modules_finds_core_components():
    register_all_modules()
    assert registry.MODELS.get('ReIDModel') is not None
    assert registry.LOOPS.get('ReIDTestLoop') is not None
