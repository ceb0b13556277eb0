"""Environment set-up for scripts that build components without a Runner (as mmpretrain's
``utils/setup_env.py``): import every core module so its components are registered, and make
``reidengine`` the default registry scope."""
import datetime

from mmengine.registry import DefaultScope

_SCOPE = 'reidengine'


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every core module so that its components are registered.

    With ``init_default_scope`` the default scope becomes ``reidengine`` (a current scope of
    another name is replaced).
    """
    import reidengine.datasets  # noqa: F401
    import reidengine.engine  # noqa: F401
    import reidengine.evaluation  # noqa: F401
    import reidengine.models  # noqa: F401
    if init_default_scope:
        current = DefaultScope.get_current_instance()
        if current is None or current.scope_name != _SCOPE:
            DefaultScope.get_instance(f'{_SCOPE}-{datetime.datetime.now()}', scope_name=_SCOPE)
