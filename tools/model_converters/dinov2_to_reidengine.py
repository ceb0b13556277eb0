"""Convert DINOv2 weights to the ``DINOv2ReID`` layout: ``dinov2_to_reidengine.py SRC DST``.

Reads Meta's release (``dinov2_vitb14_pretrain.pth``: ``mask_token`` dropped, chunked ``blocks.<c>.<n>`` keys
flattened) or a timm DINOv2 checkpoint, reads the architecture from its keys, loads it into a ``DINOv2ReID`` at
252 x 126 (checking every key and shape, the 37 x 37 position grid resampled) and prints the report, then saves
the weights with ``torch.save`` at the checkpoint's own resolution.
"""
from reidengine.models.backbones.dinov2 import DINOv2ReID, convert_dinov2_weights
from reidengine.models.backbones.vit import infer_vit_arch
from reidengine.models.backbones.weight_loading import convert_checkpoint, converter_args


def main(argv=None) -> dict:
    args = converter_args(__doc__.splitlines()[0], (252, 126), argv)

    def build(state_dict):
        arch, patch = infer_vit_arch(state_dict, source=args.src)
        return DINOv2ReID(arch=arch, img_size=args.img_size, patch_size=patch, stride_size=patch)

    return convert_checkpoint(args.src, args.dst, convert_dinov2_weights, build,
                              label=lambda sd: 'DINOv2 %s, patch %s' % infer_vit_arch(sd, source=args.src))


if __name__ == '__main__':
    main()
