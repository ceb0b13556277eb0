"""Features of a folder of images: ``python tools/extract_features.py CONFIG CKPT IMAGES OUT``.

Writes ``OUT/features.safetensors`` (tensor ``features``, one row per image) and ``OUT/paths.json``
(the image paths in row order, with the config, checkpoint and flip used). The features are those
the test loop computes (the config's test pipeline and model). Interrupted runs resume: the
images are processed in shards of ``--shard-size`` saved as they finish; run the same command again.
"""
import argparse
import os.path as osp

from reidengine.apis import init_model, list_images
from reidengine.apis.feature_store import extract_to_folder


def parse_args():
    parser = argparse.ArgumentParser(description='Extract ReID features of a folder of images')
    parser.add_argument('config', help='config file of the model')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('images', help='an image folder (searched recursively) or one image')
    parser.add_argument('out', help='output folder')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=64)
    parser.add_argument('--shard-size', type=int, default=1024,
                        help='images per saved shard (the unit of resumption)')
    parser.add_argument('--flip', action='store_true', help='average with mirrored images')
    return parser.parse_args()


def main():
    args = parse_args()
    paths = list_images(args.images) if osp.isdir(args.images) else [args.images]
    paths = [osp.abspath(p) for p in paths]
    model = init_model(args.config, args.checkpoint, device=args.device)
    info = dict(config=osp.abspath(args.config), checkpoint=osp.abspath(args.checkpoint),
                flip=bool(args.flip or model.test_cfg.get('flip', False)))
    feats = extract_to_folder(model, paths, args.out, info, shard_size=args.shard_size,
                              batch_size=args.batch_size, flip=args.flip or None)
    print(f'{len(paths)} images -> {tuple(feats.shape)} features in {args.out}')


if __name__ == '__main__':
    main()
