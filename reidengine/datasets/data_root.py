"""Where the datasets live on disk: one data root holding one folder per dataset (see docs/datasets.md)."""
import os
from pathlib import Path
from typing import Union

DATA_ROOT_ENV = 'REID_DATA_ROOT'

# <repo root>/data, the repo root being the parent of the ``reidengine`` package folder.
DEFAULT_DATA_ROOT = Path(__file__).resolve().parent.parent.parent / 'data'


def resolve_data_root(data_root: Union[str, os.PathLike, None]) -> Path:
    """Return the data root: the explicit argument wins, else ``$REID_DATA_ROOT``, else ``<repo>/data``.

    An empty string counts as not given (MMEngine's own default for ``data_root`` is ``''``).
    ``~`` is expanded. The folder is not required to exist: the dataset reports what it looked for.
    """
    if data_root is not None and str(data_root) != '':
        return Path(data_root).expanduser()
    from_env = os.environ.get(DATA_ROOT_ENV, '')
    if from_env:
        return Path(from_env).expanduser()
    return DEFAULT_DATA_ROOT
