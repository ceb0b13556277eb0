"""Checks of a config and of ``--cfg-options`` before anything is built, so that a mistake gets a
message naming the file, line, key or value instead of a bare Python error later.

- :class:`ConfigOptionAction`: parses ``--cfg-options KEY=VALUE ...`` like MMEngine's ``DictAction``
  (numbers, ``true`` / ``false``, ``None``, ``[a,b]``, ``(a,b)``, ``a,b``) but keeps the spaces of a
  value as given: ``data_root="/d/my data"`` is ``'/d/my data'`` (MMEngine's parser deletes them).
  A value in quotes inside the shell quoting (``key="'12'"``) stays a string.
- :func:`check_config_file`: a missing file, a folder, or a Python syntax error in the config or in
  any of its ``_base_`` files, named with the line.
- :func:`check_option_types`: an option whose value is text where the config (or, for a key the
  config leaves unset, the usual meaning of its name: ``seed``, ``max_epochs``, ``lr``, ...) expects
  a number or a boolean.
- :func:`import_option_modules`: ``--cfg-options custom_imports...`` is imported (MMEngine imports a
  config's own ``custom_imports`` when it reads the file, but not one given as an option).
- :func:`check_training_length`: ``train_cfg.max_epochs`` / ``max_iters`` must be at least 1.
"""
import argparse
import ast
import importlib
import os.path as osp
from typing import Any, List, Optional

__all__ = ['ConfigOptionAction', 'parse_option_value', 'check_config_file', 'check_option_types',
           'import_option_modules', 'check_training_length']

_MISSING = object()
# keys a config may leave unset (or None) whose values are numbers whatever the config says
_INTEGER_KEYS = ('seed', 'max_epochs', 'max_iters', 'val_interval', 'val_begin', 'interval',
                 'max_keep_ckpts', 'batch_size', 'num_workers', 'num_classes', 'num_instances')
_NUMBER_KEYS = ('lr', 'weight_decay', 'momentum', 'eps', 'epsilon', 'margin', 'loss_weight')


def _split_top_level(text: str, where: str) -> List[str]:
    """``text`` split at the commas outside brackets."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in '([':
            depth += 1
        elif char in ')]':
            depth -= 1
            if depth < 0:
                raise ValueError(f'{where}: unbalanced brackets in {text!r}')
        elif char == ',' and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth:
        raise ValueError(f'{where}: unbalanced brackets in {text!r}')
    parts.append(text[start:])
    return parts


def _scalar(text: str) -> Any:
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ('true', 'false'):
        return text.lower() == 'true'
    if text == 'None':
        return None
    return text


def parse_option_value(value: str, where: str = '--cfg-options') -> Any:
    """The Python value of one ``--cfg-options`` value (module docstring); spaces are kept."""
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '\'"':
        return text[1:-1]
    is_tuple = text.startswith('(') and text.endswith(')')
    if is_tuple or (text.startswith('[') and text.endswith(']')):
        inner = text[1:-1].strip()
        items = [] if not inner else _split_top_level(inner, where)
        if items and not items[-1].strip():  # a trailing comma: (1,)
            items = items[:-1]
        values = [parse_option_value(item, where) for item in items]
        return tuple(values) if is_tuple else values
    if ',' in text:
        return [parse_option_value(item, where) for item in _split_top_level(text, where)]
    return _scalar(text)


class ConfigOptionAction(argparse.Action):
    """``--cfg-options KEY=VALUE ...`` into a dict, values parsed by :func:`parse_option_value`."""

    def __call__(self, parser, namespace, values, option_string=None):
        options = dict(getattr(namespace, self.dest, None) or {})
        for item in values or []:
            key, sep, value = item.partition('=')
            if not sep or not key.strip():
                parser.error(f'{option_string} {item!r}: expected KEY=VALUE, e.g. '
                             'train_cfg.max_epochs=2')
            try:
                options[key.strip()] = parse_option_value(value, f'{option_string} {key}')
            except ValueError as err:
                parser.error(str(err))
        setattr(namespace, self.dest, options)


def _base_files(path: str, tree: ast.Module) -> List[str]:
    """The local ``_base_`` files a parsed config names (package bases ``pkg::...`` are skipped)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == '_base_'
                                                for t in node.targets):
            try:
                value = ast.literal_eval(node.value)
            except ValueError:
                return []
            names = [value] if isinstance(value, str) else list(value)
            return [osp.normpath(osp.join(osp.dirname(path), n)) for n in names
                    if isinstance(n, str) and '::' not in n]
    return []


def check_config_file(path: str, child: Optional[str] = None) -> None:
    """Refuse a missing config, a folder, or a syntax error in it or in its ``_base_`` files.

    Raises:
        FileNotFoundError / IsADirectoryError: naming the path (and the config whose base it is).
        SyntaxError: ``config FILE, line N: message`` with the offending line.
    """
    role = f'_base_ file {path} of {child}' if child else f'config file {path}'
    if osp.isdir(path):
        raise IsADirectoryError(f'{role} is a folder; expected a Python config file')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{role} does not exist')
    if not path.endswith('.py'):
        return
    with open(path, encoding='utf-8') as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as err:
        line = (err.text or '').rstrip('\n')
        pointer = f'\n    {line.strip()}' if line.strip() else ''
        raise SyntaxError(f'{role}, line {err.lineno}: {err.msg}{pointer}') from None
    for base in _base_files(path, tree):
        check_config_file(base, child=path)


def _lookup(cfg, key: str) -> Any:
    node = cfg
    for part in key.split('.'):
        if isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif hasattr(node, 'get') and part in node:
            node = node[part]
        else:
            return _MISSING
    return node


def _expected(old: Any, key: str) -> Optional[str]:
    name = key.split('.')[-1]
    unset = old is None or old is _MISSING
    if isinstance(old, bool):
        return 'true or false'
    if isinstance(old, int) or (unset and name in _INTEGER_KEYS):
        return 'an integer'
    if isinstance(old, float) or (unset and name in _NUMBER_KEYS):
        return 'a number'
    return None


def check_option_types(cfg, options: dict) -> None:
    """Refuse an option that gives text where a number or boolean is expected.

    The expectation comes from the config's current value (an int, float or bool), or, for keys the
    config leaves unset, from the key's name (``seed``, ``max_epochs``, ``lr``, ...).

    Raises:
        TypeError: naming the key, the value given and the type expected.
    """
    for key, value in options.items():
        if not isinstance(value, str):
            continue
        old = _lookup(cfg, key)
        expected = _expected(old, key)
        if expected is None:
            continue
        has = '' if old is None or old is _MISSING else f' (the config has {old!r})'
        raise TypeError(f'--cfg-options {key}={value}: expected {expected}{has}, got the text '
                        f'{value!r}')


def import_option_modules(cfg, options: dict) -> None:
    """Import ``cfg.custom_imports`` when an option set it (the config's own is imported already).

    Raises:
        TypeError: ``custom_imports`` is not ``dict(imports=[module names])``.
        ImportError: a module cannot be imported (and ``allow_failed_imports`` is not set); named.
    """
    if not any(k == 'custom_imports' or k.startswith('custom_imports.') for k in options):
        return
    spec = cfg.get('custom_imports')
    imports = spec.get('imports') if hasattr(spec, 'get') else None
    names = [imports] if isinstance(imports, str) else imports
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise TypeError(f"--cfg-options custom_imports: expected dict(imports=['module', ...]) or "
                        f"custom_imports.imports=[module,...], got {spec!r}")
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as err:
            if spec.get('allow_failed_imports', False):
                continue
            raise ImportError(f'--cfg-options custom_imports: cannot import {name!r} ({err})') \
                from err


def check_training_length(cfg) -> None:
    """Refuse ``train_cfg.max_epochs`` / ``max_iters`` below 1: nothing would be trained.

    Raises:
        ValueError: naming the key and value, and ``tools/test.py`` for testing a checkpoint.
    """
    train_cfg = cfg.get('train_cfg') or {}
    for key in ('max_epochs', 'max_iters'):
        value = train_cfg.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'train_cfg.{key}={value!r}: expected an integer >= 1; with it nothing '
                             'would be trained and the test results would be those of an untrained '
                             'model. To evaluate a checkpoint use tools/test.py CONFIG CHECKPOINT')
