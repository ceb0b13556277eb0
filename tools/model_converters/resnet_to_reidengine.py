"""Convert a ResNet checkpoint to the ``ResNetReID`` key layout: ``resnet_to_reidengine.py SRC DST [--format]``.

Reads a local torchvision, official IBN-Net (ResNet-IBN-a) or LUPerson MoCo checkpoint, maps its keys
(``conv1``/``bn1`` -> ``stem.*``, MoCo ``module.encoder_q.`` prefix removed, classifier / MLP head and key
encoder dropped), checks that the result loads into a ``ResNetReID`` of the depth and IBN type the keys
describe, and saves a plain state dict with ``torch.save``. The result loads with ``weights_format='reidengine'``
(or ``'auto'``).
"""
import argparse
import os.path as osp

import torch

from reidengine.models.backbones.resnet import (RESNET_WEIGHTS_FORMATS, ResNetReID, convert_resnet_weights,
                                                detect_resnet_weights_format, infer_resnet_arch)
from reidengine.models.backbones.weight_loading import load_state_dict_safe


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Convert a ResNet / ResNet-IBN-a / MoCo checkpoint '
                                                 'to the reidengine ResNetReID layout')
    parser.add_argument('src', help='source checkpoint (local file)')
    parser.add_argument('dst', help='output path of the converted state dict')
    parser.add_argument('--format', default='auto', choices=RESNET_WEIGHTS_FORMATS,
                        help='layout of SRC (default: detected from its keys)')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    if not osp.isfile(args.src):
        raise FileNotFoundError(f'{args.src} does not exist')
    raw = load_state_dict_safe(args.src)
    found = detect_resnet_weights_format(raw, args.src)
    state_dict, dropped = convert_resnet_weights(raw, args.format, source=args.src)
    depth, ibn = infer_resnet_arch(state_dict, args.src)
    model = ResNetReID(depth=depth, ibn=ibn, last_stride=2)
    result = model.load_state_dict(state_dict, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith('num_batches_tracked')]
    if missing or result.unexpected_keys:
        raise ValueError(f'{args.src}: converted keys do not fit ResNet-{depth} (ibn={ibn!r}): '
                         f'missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}')
    torch.save(state_dict, args.dst)
    print(f'{args.src}: {found} layout, ResNet-{depth}{"-IBN-a" if ibn else ""}; '
          f'{len(state_dict)} keys kept, {len(dropped)} dropped'
          + (f' ({", ".join(dropped[:8])}{", ..." if len(dropped) > 8 else ""})' if dropped else ''))
    print(f'saved to {args.dst}')


if __name__ == '__main__':
    main()
