"""ViTReID pretrained weights: timm / jx checkpoints, position-embedding resampling, converter."""
import runpy
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from timm.models.vision_transformer import VisionTransformer

from reidengine.models.backbones import ViTReID

TINY = dict(embed_dim=32, depth=2, num_heads=2)
CONVERTER = Path(__file__).parents[3] / 'tools' / 'model_converters' / 'vit_to_reidengine.py'


def reference_vit(**kwargs):
    """A randomly initialised timm ViT in the ImageNet checkpoint layout (with a classifier head)."""
    torch.manual_seed(0)
    kwargs = {**dict(img_size=64, patch_size=16, num_classes=5), **TINY, **kwargs}
    model = VisionTransformer(**kwargs).eval()
    with torch.no_grad():  # timm starts cls near zero; make it distinctive for the checks below
        model.cls_token.normal_()
    return model


def engine(path, **kwargs):
    kwargs = {**dict(arch=TINY, img_size=(64, 64), drop_path_rate=0.0, pretrained=str(path)), **kwargs}
    return ViTReID(**kwargs).eval()


@pytest.mark.parametrize('fmt', ['zip', 'legacy_jx', 'safetensors', 'nested'])
def test_timm_checkpoint_gives_reference_outputs(tmp_path, fmt):
    ref = reference_vit()
    state = ref.state_dict()
    path = tmp_path / ('w.safetensors' if fmt == 'safetensors' else 'w.pth')
    if fmt == 'zip':
        torch.save(state, path)
    elif fmt == 'legacy_jx':  # the 2020 jx_vit_base_p16_224-80ecf9dd.pth: a legacy-format plain dict
        torch.save(state, path, _use_new_zipfile_serialization=False)
    elif fmt == 'safetensors':
        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:  # DeiT-style nesting
        torch.save({'model': state, 'epoch': 300}, path)
    model = engine(path)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref.forward_features(x), atol=1e-5, rtol=1e-5)


def test_pos_embed_resampled_to_reid_grid(tmp_path):
    ref = reference_vit()
    torch.save(ref.state_dict(), tmp_path / 'w.pth')
    grid = ref.pos_embed[:, 1:].detach().reshape(1, 4, 4, 32).permute(0, 3, 1, 2)
    for mode, stride, new_grid in (('bilinear', 16, (6, 3)), ('bicubic', 12, (7, 3))):
        model = engine(tmp_path / 'w.pth', img_size=(96, 48), stride_size=stride, pos_embed_interp=mode)
        assert model.grid_size == new_grid
        expected = F.interpolate(grid, size=new_grid, mode=mode, align_corners=False)
        expected = expected.permute(0, 2, 3, 1).reshape(1, -1, 32)
        torch.testing.assert_close(model.pos_embed[:, 1:], expected, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(model.pos_embed[:, :1], ref.pos_embed[:, :1], atol=0, rtol=0)


def test_pos_embed_rows_stay_rows(tmp_path):
    """An embedding that depends only on the patch row stays constant along each new row and keeps its
    row order: the grid is read row-major (rows = image height)."""
    ref = reference_vit()
    state = ref.state_dict()
    rows = torch.arange(4.0).repeat_interleave(4)  # row index of each of the 4 x 4 patches
    state['pos_embed'] = torch.cat([torch.zeros(1, 1, 32), rows.reshape(1, 16, 1).expand(1, 16, 32)], 1)
    torch.save(state, tmp_path / 'rows.pth')
    model = engine(tmp_path / 'rows.pth', img_size=(128, 32))  # 8 x 2 grid
    new = model.pos_embed[0, 1:, 0].detach().reshape(8, 2)
    torch.testing.assert_close(new[:, 0], new[:, 1], atol=0, rtol=0)
    assert bool((new[1:, 0] >= new[:-1, 0]).all()) and new[0, 0] == 0 and new[-1, 0] == 3


def test_extra_tokens_copy_pretrained_cls_and_sie_is_new(tmp_path):
    ref = reference_vit()
    torch.save(ref.state_dict(), tmp_path / 'w.pth')
    model = engine(tmp_path / 'w.pth', img_size=(64, 32), num_extra_tokens=3, sie_num_cams=4)
    for k in range(3):
        torch.testing.assert_close(model.extra_tokens[0, k], ref.cls_token[0, 0], atol=0, rtol=0)
        torch.testing.assert_close(model.extra_pos_embed[0, k], ref.pos_embed[0, 0], atol=0, rtol=0)
    assert model.sie_embed.std() > 0
    report = model.load_pretrained_weights(str(tmp_path / 'w.pth'))
    assert report['missing'] == ['sie_embed'] and report['unexpected'] == ['head.weight', 'head.bias']
    assert report['resized'] == {'pos_embed': ((1, 17, 32), (1, 9, 32))}

    random = engine(tmp_path / 'w.pth', img_size=(64, 32), num_extra_tokens=2, extra_token_init='random')
    assert not torch.allclose(random.extra_tokens[0, 0], ref.cls_token[0, 0])


def test_wrong_architecture_names_key_shapes_and_file(tmp_path):
    torch.save(reference_vit().state_dict(), tmp_path / 'w.pth')
    with pytest.raises(ValueError) as err:
        engine(tmp_path / 'w.pth', arch=dict(embed_dim=48, depth=2, num_heads=2))
    assert all(s in str(err.value) for s in ('w.pth', '"cls_token"', '(1, 1, 32)', '(1, 1, 48)'))
    with pytest.raises(ValueError, match=r'w.pth: block weights unknown.*blocks\.1\.'):
        engine(tmp_path / 'w.pth', arch=dict(embed_dim=32, depth=1, num_heads=2))
    with pytest.raises(ValueError, match=r'w.pth: \d+ weights of ViTReID are not in the file: blocks\.2\.'):
        engine(tmp_path / 'w.pth', arch=dict(embed_dim=32, depth=3, num_heads=2))
    torch.save({'conv1.weight': torch.zeros(64, 3, 7, 7), 'fc.weight': torch.zeros(10, 2048)}, tmp_path / 'r50.pth')
    with pytest.raises(ValueError, match='r50.pth: not a timm / reidengine ViT checkpoint'):
        engine(tmp_path / 'r50.pth')


def test_converter_round_trip(tmp_path, capsys):
    ref = reference_vit()
    torch.save({'state_dict': ref.state_dict()}, tmp_path / 'jx.pth')
    converter = runpy.run_path(str(CONVERTER))
    report = converter['main']([str(tmp_path / 'jx.pth'), str(tmp_path / 'vit.pth'), '--img-size', '64', '32'])
    assert 'saved to' in capsys.readouterr().out
    assert report['unexpected'] == ['head.weight', 'head.bias']
    converted = torch.load(tmp_path / 'vit.pth', weights_only=True)
    assert 'head.weight' not in converted and converted['pos_embed'].shape == (1, 17, 32)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(engine(tmp_path / 'vit.pth', weights_format='reidengine')(x),
                                   ref.forward_features(x), atol=1e-5, rtol=1e-5)
