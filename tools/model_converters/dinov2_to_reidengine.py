"""Convert DINOv2 weights to the ``DINOv2ReID`` layout: ``dinov2_to_reidengine.py SRC DST``.

Reads Meta's release (``dinov2_vitb14_pretrain.pth``: ``mask_token`` dropped, chunked ``blocks.<c>.<n>`` keys
flattened) or a timm DINOv2 checkpoint, reads the architecture from its keys, loads it into a ``DINOv2ReID`` at
252 x 126 (checking every key and shape, the 37 x 37 position grid resampled) and prints the report, then saves
the weights with ``torch.save`` at the checkpoint's own resolution.
"""
import argparse

import torch

from reidengine.models.backbones.dinov2 import DINOv2ReID, convert_dinov2_weights
from reidengine.models.backbones.vit import infer_vit_arch
from reidengine.models.backbones.weight_loading import load_state_dict_safe


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', help='source checkpoint (local file)')
    parser.add_argument('dst', help='output path of the converted state dict')
    parser.add_argument('--img-size', type=int, nargs=2, default=(252, 126), metavar=('H', 'W'),
                        help='image size of the check load (default 252 126)')
    args = parser.parse_args(argv)
    state_dict = convert_dinov2_weights(load_state_dict_safe(args.src), source=args.src)
    arch, patch = infer_vit_arch(state_dict, source=args.src)
    backbone = DINOv2ReID(arch=arch, img_size=tuple(args.img_size), patch_size=patch, stride_size=patch)
    report = backbone.load_converted(state_dict, source=args.src)
    print(f'{args.src}: DINOv2 {arch}, patch {patch}; loaded {len(report["loaded"])} tensors, resized '
          f'{report["resized"] or "-"}, newly initialised {report["missing"] or "-"}, '
          f'dropped {report["unexpected"] or "-"}')
    torch.save({k: v for k, v in state_dict.items() if k not in set(report['unexpected'])}, args.dst)
    print(f'saved to {args.dst}')
    return report


if __name__ == '__main__':
    main()
