"""The tiny trained-model set-up of the API tests (tests/apis/conftest.py)."""
import importlib.util
import os.path as osp

_spec = importlib.util.spec_from_file_location(
    '_apis_conftest', osp.join(osp.dirname(__file__), '..', 'apis', 'conftest.py'))
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)
tiny_reid = _module.tiny_reid
