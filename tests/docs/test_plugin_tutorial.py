"""docs/plugin_tutorial.md runs: its ``file=`` blocks are written, its ``run`` blocks executed."""
import importlib.util
import os.path as osp
import re
import sys

DOC = osp.join(osp.dirname(__file__), '..', '..', 'docs', 'plugin_tutorial.md')
BLOCK = re.compile(r'^```python (file=(?P<file>\S+)|(?P<run>run))\n(?P<code>.*?)^```', re.M | re.S)


def blocks():
    with open(DOC) as f:
        return [(m['file'], m['code']) for m in BLOCK.finditer(f.read())]


def test_tutorial_has_files_and_runs():
    found = blocks()
    assert sum(1 for f, _ in found if f) == 4 and sum(1 for f, _ in found if not f) == 4


def test_plugin_tutorial_end_to_end(tmp_path, monkeypatch):
    import plugins
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(plugins, '__path__', list(plugins.__path__) + [str(tmp_path / 'plugins')])
    for name in [m for m in sys.modules if m.startswith('plugins.attnpool')]:
        monkeypatch.delitem(sys.modules, name)
    namespace = {}
    has_onnx = all(importlib.util.find_spec(m) for m in ('onnx', 'onnxruntime'))
    for path, code in blocks():
        if path:
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(code)
        elif 'export_onnx' in code and not has_onnx:
            continue
        else:
            exec(compile(code, f'{DOC} block', 'exec'), namespace)
    assert (tmp_path / 'work_dirs' / 'attnpool' / 'attention.png').is_file()
    if has_onnx:
        assert (tmp_path / 'work_dirs' / 'attnpool' / 'model.onnx').is_file()
    for name in [m for m in sys.modules if m.startswith('plugins.attnpool')]:
        monkeypatch.delitem(sys.modules, name)
