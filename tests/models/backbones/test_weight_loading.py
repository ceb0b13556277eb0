"""Safe checkpoint reading and the load report (reidengine/models/backbones/weight_loading.py)."""
import logging
import warnings

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from reidengine.models.backbones.weight_loading import (is_torchscript_archive, load_pretrained,
                                                         load_state_dict_safe)


class _Payload:
    """Unpickling this writes a file: the kind of code a crafted checkpoint could run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f'open({self.marker!r}, "w").write("pwned")',)


def test_malicious_pickle_is_refused_and_its_payload_never_runs(tmp_path):
    marker = tmp_path / 'pwned.txt'
    path = tmp_path / 'crafted.pth'
    torch.save({'state_dict': {'weight': torch.ones(2), 'evil': _Payload(marker)}}, path)

    with pytest.raises(ValueError) as err:
        load_state_dict_safe(path)
    message = str(err.value)
    assert str(path) in message and 'Refusing' in message and 'exec' in message
    assert not marker.exists()

    # The payload is real: an unrestricted unpickling does run it (so the check above means something).
    torch.load(path, weights_only=False)
    assert marker.read_text() == 'pwned'


def test_nestings_and_ddp_prefix_are_unwrapped(tmp_path):
    weights = {'a.weight': torch.randn(3, 2), 'a.bias': torch.randn(3)}
    cases = {
        'plain.pth': weights,
        'state_dict.pth': {'state_dict': weights, 'meta': {'epoch': 3}},
        'model.pth': {'model': {'module.' + k: v for k, v in weights.items()}},
        'mmengine.pth': {'state_dict': {'module': weights}},
    }
    for name, obj in cases.items():
        torch.save(obj, tmp_path / name)
        loaded = load_state_dict_safe(tmp_path / name)
        assert loaded.keys() == weights.keys(), name
        for key in weights:
            assert torch.equal(loaded[key], weights[key]), (name, key)


def test_legacy_safetensors_and_torchscript_files(tmp_path):
    weights = {'weight': torch.randn(4, 3), 'bias': torch.randn(4)}
    torch.save(weights, tmp_path / 'legacy.pth', _use_new_zipfile_serialization=False)
    save_file(weights, str(tmp_path / 'w.safetensors'))
    save_file(weights, str(tmp_path / 'sniffed.bin'))  # safetensors content under another extension
    linear = nn.Linear(3, 4)
    with torch.no_grad():
        linear.weight.copy_(weights['weight'])
        linear.bias.copy_(weights['bias'])
    with warnings.catch_warnings():  # torch.jit is deprecated but is the format of OpenAI's CLIP release
        warnings.simplefilter('ignore', FutureWarning)
        torch.jit.trace(linear, torch.randn(1, 3)).save(str(tmp_path / 'scripted.pt'))

    assert is_torchscript_archive(tmp_path / 'scripted.pt')
    assert not is_torchscript_archive(tmp_path / 'legacy.pth')
    for name in ('legacy.pth', 'w.safetensors', 'sniffed.bin', 'scripted.pt'):
        loaded = load_state_dict_safe(tmp_path / name)
        assert set(loaded) == set(weights), name
        for key in weights:
            assert torch.equal(loaded[key], weights[key]), (name, key)


def test_prefix_selection(tmp_path):
    torch.save({'visual.conv.weight': torch.ones(1), 'text.weight': torch.zeros(1)}, tmp_path / 'clip.pth')
    assert list(load_state_dict_safe(tmp_path / 'clip.pth', prefix='visual.')) == ['conv.weight']
    with pytest.raises(ValueError, match='no key starting with "backbone."'):
        load_state_dict_safe(tmp_path / 'clip.pth', prefix='backbone.')


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        load_state_dict_safe(tmp_path / 'missing.pth')
    (tmp_path / 'notes.pth').write_text('these are not weights')
    with pytest.raises(ValueError, match='notes.pth.*not a readable PyTorch checkpoint'):
        load_state_dict_safe(tmp_path / 'notes.pth')
    torch.save({'weight': torch.ones(1), 'epoch': 3}, tmp_path / 'mixed.pth')
    with pytest.raises(ValueError, match='mixed.pth.*epoch'):
        load_state_dict_safe(tmp_path / 'mixed.pth')


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _logger():
    logger = logging.getLogger('test_weight_loading')
    logger.setLevel(logging.INFO)
    handler = _ListHandler()
    logger.handlers = [handler]
    return logger, handler


def test_load_pretrained_reports_missing_unexpected_resized():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 4))
    source = {'0.weight': torch.randn(3, 2), '0.bias': torch.randn(3), '1.weight': torch.randn(4, 2),
              'head.weight': torch.randn(5, 4)}
    # resizer: zero-pad the input columns (2 -> 3)
    pad = {'1.weight': lambda t, shape: torch.cat([t, torch.zeros(shape[0], shape[1] - t.shape[1])], 1)}
    logger, handler = _logger()
    report = load_pretrained(model, source, logger=logger, source='toy.pth', resizers=pad)

    assert torch.equal(model[0].weight, source['0.weight']) and torch.equal(model[0].bias, source['0.bias'])
    assert torch.equal(model[1].weight[:, :2], source['1.weight'])
    assert torch.equal(model[1].weight[:, 2], torch.zeros(4))
    assert report['resized'] == {'1.weight': ((4, 2), (4, 3))}
    assert report['missing'] == ['1.bias'] and report['unexpected'] == ['head.weight']
    text = handler.messages[0]
    assert 'toy.pth' in text and '1.weight (4, 2) -> (4, 3)' in text and '1.bias' in text and 'head.weight' in text


def test_load_pretrained_errors_name_key_shapes_and_file():
    model = nn.Sequential(nn.Linear(2, 3))
    before = model[0].weight.detach().clone()
    logger, _ = _logger()
    with pytest.raises(ValueError) as err:
        load_pretrained(model, {'0.weight': torch.randn(3, 5), '0.bias': torch.randn(3)}, logger, source='w.pth')
    assert all(s in str(err.value) for s in ('w.pth', '"0.weight"', '(3, 5)', '(3, 2)'))
    with pytest.raises(ValueError, match='r.pth: no key matches'):
        load_pretrained(model, {'conv1.weight': torch.randn(1)}, logger, source='r.pth')
    with pytest.raises(ValueError, match='p.pth: 1 weights of Sequential are not in the file: 0.bias'):
        load_pretrained(model, {'0.weight': torch.randn(3, 2)}, logger, source='p.pth', require_all=True)
    assert torch.equal(model[0].weight, before)  # nothing was loaded by the failed calls
