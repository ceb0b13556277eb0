"""Convert CLIP weights to the ``CLIPViTReID`` layout: ``clip_to_reidengine.py SRC DST``.

Reads OpenAI's TorchScript release (``ViT-B-16.pt``, via ``torch.jit.load(...).state_dict()``) or an open_clip
state dict (``open_clip_pytorch_model.bin`` / ``.safetensors``, ``visual.*`` keys), keeps the image tower
(text tower dropped), maps it to the engine's keys, reads the architecture from them, loads it into a
``CLIPViTReID`` at 256 x 128 (checking every key and shape) and prints the report, then saves the image-tower
weights with ``torch.save`` at the checkpoint's own resolution.
"""
from reidengine.models.backbones.clip_vit import CLIPViTReID, convert_clip_weights
from reidengine.models.backbones.vit import infer_vit_arch
from reidengine.models.backbones.weight_loading import convert_checkpoint, converter_args


def clip_arch(state_dict: dict, source: str):
    """Architecture, patch size and whether the image tower has its output projection ``proj``."""
    arch, patch = infer_vit_arch(state_dict, source=source)
    if 'proj' in state_dict:
        arch['output_dim'] = state_dict['proj'].shape[1]
    return arch, patch, 'proj' in state_dict


def main(argv=None) -> dict:
    args = converter_args(__doc__.splitlines()[0], (256, 128), argv)

    def build(state_dict):
        arch, patch, use_proj = clip_arch(state_dict, args.src)
        return CLIPViTReID(arch=arch, img_size=args.img_size, patch_size=patch, stride_size=patch,
                           use_proj=use_proj)

    return convert_checkpoint(args.src, args.dst, convert_clip_weights, build,
                              label=lambda sd: 'CLIP image tower %s, patch %s' % clip_arch(sd, args.src)[:2])


if __name__ == '__main__':
    main()
