"""Search a gallery: ``python tools/search.py CONFIG CKPT QUERY GALLERY_FEATURES --topk 10``.

QUERY is an image or a folder of images; GALLERY_FEATURES the output folder of
``tools/extract_features.py``. Prints each query's ranked matches (rank, distance, gallery image)
and writes them as JSON (``--out``, default ``<GALLERY_FEATURES>/matches.json``). With
``--threshold`` (a distance, or the ``threshold.json`` written by ``tools/visualize.py`` from a
labelled test run at a chosen false-match rate) each match is marked same person or not, and
``--only-matches`` drops the others.
"""
import argparse
import json
import os.path as osp

from reidengine.apis import extract_features, init_model, list_images, search
from reidengine.apis.feature_store import load_features
from reidengine.apis.threshold import load_threshold


def parse_args():
    parser = argparse.ArgumentParser(description='Search ReID features of a gallery')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('query', help='a query image or a folder of them')
    parser.add_argument('gallery', help='output folder of tools/extract_features.py')
    parser.add_argument('--topk', type=int, default=10)
    parser.add_argument('--metric', choices=['euclidean', 'cosine'],
                        help="distance (default: the config's test_evaluator metric)")
    parser.add_argument('--rerank', action='store_true', help='k-reciprocal re-ranking')
    parser.add_argument('--backend', choices=['torch', 'faiss'], default='torch')
    parser.add_argument('--threshold', help='same-person distance: a number or a threshold.json')
    parser.add_argument('--only-matches', action='store_true',
                        help='keep only matches under the threshold')
    parser.add_argument('--out', help='JSON file of the ranked matches')
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def config_metric(cfg) -> str:
    evaluator = cfg.get('test_evaluator') or {}
    if isinstance(evaluator, (list, tuple)):
        evaluator = evaluator[0] if evaluator else {}
    return evaluator.get('metric', 'euclidean')


def main():
    args = parse_args()
    if args.only_matches and args.threshold is None:
        raise SystemExit('--only-matches needs --threshold')
    gallery, gallery_paths, info = load_features(args.gallery)
    model = init_model(args.config, args.checkpoint, device=args.device)
    metric = args.metric or config_metric(model.cfg)
    threshold = None if args.threshold is None else load_threshold(args.threshold, metric)
    queries = list_images(args.query) if osp.isdir(args.query) else [args.query]
    query = extract_features(model, queries, flip=info.get('flip') or None)
    if query.shape[1] != gallery.shape[1]:
        raise ValueError(f'query features have dim {query.shape[1]} but the gallery features in '
                         f'{args.gallery} {gallery.shape[1]}: extracted with another model?')
    dists, indices = search(query, gallery, args.topk, metric=metric, rerank=args.rerank or None,
                            backend=args.backend)
    results = []
    for q, path in enumerate(queries):
        matches = []
        for rank, (d, i) in enumerate(zip(dists[q].tolist(), indices[q].tolist()), 1):
            same = None if threshold is None else d < threshold
            if args.only_matches and not same:
                continue
            matches.append(dict(rank=rank, distance=d, path=gallery_paths[i], gallery_index=i,
                                **({} if same is None else dict(same_person=same))))
        results.append(dict(query=osp.abspath(path), matches=matches))
        print(f'query {path}')
        for m in matches:
            mark = '' if threshold is None else ('  same' if m['same_person'] else '  different')
            print(f'  {m["rank"]:3d}  {m["distance"]:.4f}  {m["path"]}{mark}')
    out = args.out or osp.join(args.gallery, 'matches.json')
    with open(out, 'w') as f:
        json.dump(dict(metric=metric, threshold=threshold, rerank=bool(args.rerank),
                       results=results), f, indent=1)
    print(f'ranked matches written to {out}')


if __name__ == '__main__':
    main()
