"""DINOv2ReID: Meta's and timm's DINOv2 checkpoints give the reference outputs (dinov2.py)."""
import runpy
from pathlib import Path

import pytest
import timm
import torch
import torch.nn.functional as F
from timm.models.vision_transformer import VisionTransformer

from reidengine.models.backbones import DINOv2ReID

TINY = dict(embed_dim=32, depth=3, num_heads=2)
CONVERTER = Path(__file__).parents[3] / 'tools' / 'model_converters' / 'dinov2_to_reidengine.py'


def reference_dinov2(img_size=56):
    """timm's DINOv2 ViT (patch 14, layer scale) with random weights and non-trivial layer-scale gammas."""
    torch.manual_seed(0)
    model = VisionTransformer(img_size=img_size, patch_size=14, init_values=1e-5, num_classes=0, **TINY).eval()
    with torch.no_grad():
        for block in model.blocks:
            block.ls1.gamma.normal_()
            block.ls2.gamma.normal_()
    return model


def meta_layout(state_dict, chunks=0):
    """Rename timm keys to Meta's ``dinov2_vitb14_pretrain.pth`` layout: + ``mask_token`` (1, D); with FSDP
    block chunks, block N of chunk c is ``blocks.c.N`` (chunks keep the global index)."""
    out = {}
    depth = TINY['depth']
    for key, value in state_dict.items():
        if chunks and key.startswith('blocks.'):
            index = int(key.split('.')[1])
            key = f'blocks.{index // -(-depth // chunks)}.{index}.' + key.split('.', 2)[2]
        out[key] = value
    out['mask_token'] = torch.zeros(1, TINY['embed_dim'])
    return out


def engine(path, **kwargs):
    kwargs = {**dict(arch=TINY, img_size=56, drop_path_rate=0.0, pretrained=str(path)), **kwargs}
    return DINOv2ReID(**kwargs).eval()


@pytest.mark.parametrize('layout', ['meta', 'meta_chunked', 'timm'])
def test_checkpoint_gives_reference_outputs(tmp_path, layout):
    ref = reference_dinov2()
    state = ref.state_dict()
    if layout != 'timm':
        state = meta_layout(state, chunks=2 if layout == 'meta_chunked' else 0)
        assert ('blocks.1.2.ls1.gamma' in state) == (layout == 'meta_chunked')
    torch.save(state, tmp_path / 'dinov2.pth')
    model = engine(tmp_path / 'dinov2.pth')
    x = torch.randn(2, 3, 56, 56)
    with torch.no_grad():
        torch.testing.assert_close(model(x), ref.forward_features(x), atol=1e-5, rtol=1e-5)


def test_37x37_grid_resampled_to_18x9(tmp_path):
    ref = reference_dinov2(img_size=518)
    torch.save(meta_layout(ref.state_dict()), tmp_path / 'dinov2_vitb14_pretrain.pth')
    model = engine(tmp_path / 'dinov2_vitb14_pretrain.pth', img_size=(252, 126), num_extra_tokens=2,
                   extra_token_init='random', sie_num_cams=2, sie_target='first_extra_token')
    assert model.grid_size == (18, 9)
    grid = ref.pos_embed[:, 1:].detach().reshape(1, 37, 37, 32).permute(0, 3, 1, 2)
    expected = F.interpolate(grid, size=(18, 9), mode='bicubic', align_corners=False)
    torch.testing.assert_close(model.pos_embed[:, 1:], expected.permute(0, 2, 3, 1).reshape(1, 162, 32),
                               atol=1e-6, rtol=1e-6)
    with torch.no_grad():
        assert model(torch.randn(1, 3, 252, 126), camids=torch.tensor([1])).shape == (1, 3 + 162, 32)


def test_vit_b_14_architecture_matches_timm():
    model = DINOv2ReID()
    ref = timm.create_model('vit_base_patch14_dinov2', pretrained=False, num_classes=0)
    ref_count = sum(p.numel() for p in ref.parameters())
    assert model.grid_size == (18, 9) and model.embed_dim == 768
    assert sum(p.numel() for p in model.parameters()) == ref_count - (1 + 37 * 37) * 768 + (1 + 18 * 9) * 768


def test_register_and_wrong_files_are_refused(tmp_path):
    state = meta_layout(reference_dinov2().state_dict())
    torch.save({**state, 'register_tokens': torch.zeros(1, 4, 32)}, tmp_path / 'reg4.pth')
    with pytest.raises(ValueError, match='reg4.pth: a DINOv2 checkpoint with registers'):
        engine(tmp_path / 'reg4.pth')
    no_ls = {k: v for k, v in state.items() if '.ls' not in k}
    torch.save(no_ls, tmp_path / 'no_ls.pth')
    with pytest.raises(ValueError, match=r'no_ls.pth: \d+ weights of DINOv2ReID are not in the file: blocks\.0\.ls1'):
        engine(tmp_path / 'no_ls.pth')


def test_converter_round_trip(tmp_path, capsys):
    ref = reference_dinov2()
    torch.save(meta_layout(ref.state_dict(), chunks=3), tmp_path / 'meta.pth')
    converter = runpy.run_path(str(CONVERTER))
    report = converter['main']([str(tmp_path / 'meta.pth'), str(tmp_path / 'dinov2.pth'), '--img-size', '56', '56'])
    assert report['unexpected'] == [] and 'saved to' in capsys.readouterr().out
    converted = torch.load(tmp_path / 'dinov2.pth', weights_only=True)
    assert 'mask_token' not in converted and 'blocks.2.ls2.gamma' in converted
    x = torch.randn(1, 3, 56, 56)
    with torch.no_grad():
        torch.testing.assert_close(engine(tmp_path / 'dinov2.pth', weights_format='reidengine')(x),
                                   ref.forward_features(x), atol=1e-5, rtol=1e-5)
