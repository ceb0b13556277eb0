"""Convert CLIP weights to the ``CLIPViTReID`` layout: ``clip_to_reidengine.py SRC DST``.

Reads OpenAI's TorchScript release (``ViT-B-16.pt``, via ``torch.jit.load(...).state_dict()``) or an open_clip
state dict (``open_clip_pytorch_model.bin`` / ``.safetensors``, ``visual.*`` keys), keeps the image tower
(text tower dropped), maps it to the engine's keys, reads the architecture from them, loads it into a
``CLIPViTReID`` at 256 x 128 (checking every key and shape) and prints the report, then saves the image-tower
weights with ``torch.save`` at the checkpoint's own resolution.
"""
import argparse

import torch

from reidengine.models.backbones.clip_vit import CLIPViTReID, convert_clip_weights
from reidengine.models.backbones.vit import infer_vit_arch
from reidengine.models.backbones.weight_loading import load_state_dict_safe


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='source checkpoint (local file)')
    parser.add_argument('dst', help='output path of the converted state dict')
    parser.add_argument('--img-size', type=int, nargs=2, default=(256, 128), metavar=('H', 'W'),
                        help='image size of the check load (default 256 128)')
    args = parser.parse_args(argv)
    state_dict = convert_clip_weights(load_state_dict_safe(args.src), source=args.src)
    arch, patch = infer_vit_arch(state_dict, source=args.src)
    use_proj = 'proj' in state_dict
    if use_proj:
        arch['output_dim'] = state_dict['proj'].shape[1]
    backbone = CLIPViTReID(arch=arch, img_size=tuple(args.img_size), patch_size=patch, stride_size=patch,
                           use_proj=use_proj)
    report = backbone.load_converted(state_dict, source=args.src)
    print(f'{args.src}: CLIP image tower {arch}, patch {patch}; loaded {len(report["loaded"])} tensors, resized '
          f'{report["resized"] or "-"}, newly initialised {report["missing"] or "-"}, '
          f'dropped {report["unexpected"] or "-"}')
    torch.save({k: v for k, v in state_dict.items() if k not in set(report['unexpected'])}, args.dst)
    print(f'saved to {args.dst}')
    return report


if __name__ == '__main__':
    main()
