"""Pictures of a trained model on a test set: ``python tools/visualize.py CONFIG CKPT --out-dir DIR``.

Writes into DIR: ranked lists of the worst and best queries (true matches framed green, wrong red,
distances written), the ROC and same/different-person distance histograms with the threshold at
``--fmr`` (``threshold.json``, for ``tools/search.py --threshold``), a t-SNE of the features by
identity, the model's attention maps (``attention_maps``) or ``--grad-cam`` for CNNs, the
training curves of ``--work-dir``'s logs, and a README.md describing each file.
"""
import argparse

from reidengine.apis import init_model
from reidengine.visualization import write_test_pictures


def parse_args():
    parser = argparse.ArgumentParser(description='Pictures of a ReID model on a test set')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True)
    parser.add_argument('--test-set', type=int, default=0,
                        help="index of the config's test set (test_dataloader list)")
    parser.add_argument('--num-queries', type=int, default=8, help='queries per ranked-list picture')
    parser.add_argument('--topk', type=int, default=10)
    parser.add_argument('--fmr', type=float, default=1e-3,
                        help='false-match rate of the same-person threshold')
    parser.add_argument('--feature-space', choices=['tsne', 'pca', 'none'], default='tsne')
    parser.add_argument('--no-attention', action='store_true')
    parser.add_argument('--grad-cam', action='store_true', help='Grad-CAM (needs grad-cam)')
    parser.add_argument('--work-dir', help='training work dir whose logs give the training curves')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def main():
    args = parse_args()
    model = init_model(args.config, args.checkpoint, device=args.device)
    written = write_test_pictures(
        model, args.out_dir, set_index=args.test_set, num_queries=args.num_queries, topk=args.topk,
        false_match_rate=args.fmr,
        feature_space=None if args.feature_space == 'none' else args.feature_space,
        attention=not args.no_attention, grad_cam=args.grad_cam, curves_work_dir=args.work_dir)
    for name, what in written.items():
        print(f'{args.out_dir}/{name}: {what}')


if __name__ == '__main__':
    main()
