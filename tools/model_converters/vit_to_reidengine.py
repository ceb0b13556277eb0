"""Convert a timm / ImageNet ViT checkpoint to the ``ViTReID`` layout: ``vit_to_reidengine.py SRC DST``.

Reads a local timm-layout checkpoint (e.g. ``jx_vit_base_p16_224-80ecf9dd.pth``, ``vit_base_patch16_224``
``.bin`` / ``.safetensors``, DeiT's ``model`` nesting), reads the architecture from its keys, loads it into a
``ViTReID`` at 256 x 128 (checking every key and shape, position embeddings resampled) and prints the report,
then saves the keys the backbone uses with ``torch.save`` at the checkpoint's own resolution (they are resampled
to the configured grid whenever they are loaded).
"""
from reidengine.models.backbones.vit import ViTReID, convert_vit_weights, infer_vit_arch
from reidengine.models.backbones.weight_loading import convert_checkpoint, converter_args


def main(argv=None) -> dict:
    args = converter_args(__doc__.splitlines()[0], (256, 128), argv)

    def build(state_dict):
        arch, patch = infer_vit_arch(state_dict, source=args.src)
        return ViTReID(arch=arch, img_size=args.img_size, patch_size=patch, stride_size=patch)

    return convert_checkpoint(args.src, args.dst, convert_vit_weights, build,
                              label=lambda sd: 'ViT %s, patch %s' % infer_vit_arch(sd, source=args.src))


if __name__ == '__main__':
    main()
