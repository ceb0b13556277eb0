"""CLIPViTReID: OpenAI TorchScript and open_clip checkpoints give open_clip's outputs (clip_vit.py)."""
import runpy
import warnings
from pathlib import Path

import open_clip
import pytest
import torch
import torch.nn.functional as F
from open_clip.transformer import QuickGELU, VisionTransformer
from safetensors.torch import save_file
from torch import nn

from reidengine.models.backbones import CLIPViTReID

TINY = dict(embed_dim=32, depth=2, num_heads=2, output_dim=16)
CONVERTER = Path(__file__).parents[3] / 'tools' / 'model_converters' / 'clip_to_reidengine.py'


def reference_visual(image_size=64):
    """A randomly initialised open_clip image tower in OpenAI's layout (QuickGELU, no conv bias)."""
    torch.manual_seed(0)
    visual = VisionTransformer(image_size=image_size, patch_size=16, width=32, layers=2, heads=2, mlp_ratio=4.0,
                               output_dim=16, act_layer=QuickGELU, output_tokens=True).eval()
    with torch.no_grad():  # open_clip starts LayerNorms at identity; make them matter
        for name, param in visual.named_parameters():
            if 'ln_' in name:
                param.normal_(1.0 if name.endswith('weight') else 0.0, 0.2)
    return visual


class _OpenAIFile(nn.Module):
    """Mimics OpenAI's ``ViT-B-16.pt``: a TorchScript CLIP with ``visual.*`` and text-tower weights."""

    def __init__(self, visual):
        super().__init__()
        self.visual = visual
        self.token_embedding = nn.Embedding(49, 16)
        self.logit_scale = nn.Parameter(torch.ones([]))

    def forward(self, image):
        return self.visual(image)[0]


def save_openai_archive(visual, path, image_size=64):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        traced = torch.jit.trace(_OpenAIFile(visual).eval(), torch.randn(1, 3, image_size, image_size),
                                 check_trace=False)
        traced.save(str(path))


def engine(path, **kwargs):
    kwargs = {**dict(arch=TINY, img_size=64, drop_path_rate=0.0, pretrained=str(path)), **kwargs}
    return CLIPViTReID(**kwargs).eval()


def check_same_outputs(model_proj, model_tokens, visual):
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        pooled, tokens = visual(x)  # pooled = ln_post(x)[:, 0] @ proj; tokens = ln_post(x)[:, 1:]
        out_proj, out_tokens = model_proj(x), model_tokens(x)
    assert out_proj.shape == (2, 17, 16) and out_tokens.shape == (2, 17, 32)
    torch.testing.assert_close(out_proj[:, 0], pooled, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out_tokens[:, 1:], tokens, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out_proj[:, 1:], tokens @ visual.proj, atol=1e-5, rtol=1e-5)


def test_openai_torchscript_archive(tmp_path):
    visual = reference_visual()
    save_openai_archive(visual, tmp_path / 'ViT-B-16.pt')
    model = engine(tmp_path / 'ViT-B-16.pt')
    assert model.embed_dim == 16 and model.width == 32
    check_same_outputs(model, engine(tmp_path / 'ViT-B-16.pt', use_proj=False), visual)


@pytest.mark.parametrize('name', ['open_clip_pytorch_model.bin', 'open_clip_model.safetensors'])
def test_open_clip_state_dict(tmp_path, name):
    torch.manual_seed(0)
    clip = open_clip.CLIP(embed_dim=16, quick_gelu=True,
                          vision_cfg=dict(image_size=64, patch_size=16, width=32, layers=2, head_width=16),
                          text_cfg=dict(context_length=8, vocab_size=50, width=16, heads=2, layers=1))
    reference = reference_visual()
    clip.visual.load_state_dict(reference.state_dict())
    state = clip.state_dict()
    if name.endswith('.safetensors'):
        save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / name))
    else:
        torch.save(state, tmp_path / name)
    check_same_outputs(engine(tmp_path / name, weights_format='open_clip'),
                       engine(tmp_path / name, use_proj=False), reference)


def test_position_embedding_14x14_to_16x8_and_extras(tmp_path):
    visual = reference_visual(image_size=224)
    save_openai_archive(visual, tmp_path / 'ViT-B-16.pt', image_size=224)
    model = engine(tmp_path / 'ViT-B-16.pt', img_size=(256, 128), num_extra_tokens=2, sie_num_cams=3)
    assert model.grid_size == (16, 8)
    grid = visual.positional_embedding[1:].detach().reshape(1, 14, 14, 32).permute(0, 3, 1, 2)
    expected = F.interpolate(grid, size=(16, 8), mode='bilinear', align_corners=False)
    torch.testing.assert_close(model.pos_embed[0, 1:], expected.permute(0, 2, 3, 1).reshape(128, 32),
                               atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(model.pos_embed[0, 0], visual.positional_embedding[0], atol=0, rtol=0)
    for k in range(2):
        torch.testing.assert_close(model.extra_tokens[0, k], visual.class_embedding, atol=0, rtol=0)
    with torch.no_grad():
        out = model(torch.randn(2, 3, 256, 128), camids=torch.tensor([0, 2]))
    assert out.shape == (2, 1 + 2 + 128, 16)


def test_vit_b_16_architecture_matches_open_clip():
    """The default arch reads open_clip's ViT-B-16 config: the same parameters as its image tower, except
    the position embedding (1 + 16*8 rows at 256x128 instead of 1 + 14*14)."""
    model = CLIPViTReID()
    visual = open_clip.create_model('ViT-B-16', pretrained=None).visual
    ref_count = sum(p.numel() for p in visual.parameters())
    assert model.grid_size == (16, 8) and model.embed_dim == 512 and model.width == 768
    assert sum(p.numel() for p in model.parameters()) == ref_count - (1 + 14 * 14) * 768 + (1 + 16 * 8) * 768
    assert CLIPViTReID(use_proj=False).embed_dim == 768


def test_not_a_clip_file(tmp_path):
    torch.save({'conv1.bias': torch.zeros(3), 'fc.weight': torch.zeros(2, 2)}, tmp_path / 'r50.pth')
    with pytest.raises(ValueError, match='r50.pth: not a CLIP checkpoint'):
        engine(tmp_path / 'r50.pth')
    visual = reference_visual()
    save_openai_archive(visual, tmp_path / 'ViT-B-16.pt')
    with pytest.raises(ValueError, match=r'ViT-B-16.pt: key "proj" has shape \(32, 16\).*\(32, 8\)'):
        engine(tmp_path / 'ViT-B-16.pt', arch=dict(TINY, output_dim=8))


def test_converter_keeps_the_image_tower(tmp_path, capsys):
    visual = reference_visual()
    save_openai_archive(visual, tmp_path / 'ViT-B-16.pt')
    converter = runpy.run_path(str(CONVERTER))
    converter['main']([str(tmp_path / 'ViT-B-16.pt'), str(tmp_path / 'clip.pth'), '--img-size', '64', '64'])
    assert 'saved to' in capsys.readouterr().out
    converted = torch.load(tmp_path / 'clip.pth', weights_only=True)
    assert not any('token_embedding' in k or 'logit_scale' in k for k in converted)
    assert converted['cls_token'].shape == (1, 1, 32) and 'proj' in converted
    check_same_outputs(engine(tmp_path / 'clip.pth', weights_format='reidengine'),
                       engine(tmp_path / 'clip.pth', use_proj=False), visual)
