"""Convert a timm / ImageNet ViT checkpoint to the ``ViTReID`` layout: ``vit_to_reidengine.py SRC DST``.

Reads a local timm-layout checkpoint (e.g. ``jx_vit_base_p16_224-80ecf9dd.pth``, ``vit_base_patch16_224``
``.bin`` / ``.safetensors``, DeiT's ``model`` nesting), reads the architecture from its keys, loads it into a
``ViTReID`` at 256 x 128 (checking every key and shape, position embeddings resampled) and prints the report,
then saves the keys the backbone uses with ``torch.save`` at the checkpoint's own resolution (they are resampled
to the configured grid whenever they are loaded).
"""
import argparse

import torch

from reidengine.models.backbones.vit import ViTReID, convert_vit_weights, infer_vit_arch
from reidengine.models.backbones.weight_loading import load_state_dict_safe


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='source checkpoint (local file)')
    parser.add_argument('dst', help='output path of the converted state dict')
    parser.add_argument('--img-size', type=int, nargs=2, default=(256, 128), metavar=('H', 'W'),
                        help='image size of the check load (default 256 128)')
    args = parser.parse_args(argv)
    state_dict = convert_vit_weights(load_state_dict_safe(args.src), source=args.src)
    arch, patch = infer_vit_arch(state_dict, source=args.src)
    backbone = ViTReID(arch=arch, img_size=tuple(args.img_size), patch_size=patch, stride_size=patch)
    report = backbone.load_converted(state_dict, source=args.src)
    print(f'{args.src}: ViT {arch}, patch {patch}; loaded {len(report["loaded"])} tensors, resized '
          f'{report["resized"] or "-"}, newly initialised {report["missing"] or "-"}, '
          f'dropped {report["unexpected"] or "-"}')
    torch.save({k: v for k, v in state_dict.items() if k not in set(report['unexpected'])}, args.dst)
    print(f'saved to {args.dst}')
    return report


if __name__ == '__main__':
    main()
