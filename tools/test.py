"""Test a trained ReID model: ``python tools/test.py CONFIG CHECKPOINT``.

The protocol comes from the config: its ``test_dataloader`` lists the target test sets
(single-source: the other datasets; multi-source leave-one-out: the held-out one). Each set is
evaluated (Market protocol: mAP, CMC, mINP) and a table is written to the work dir.
"""
import argparse
import os.path as osp

from reidengine.engine.runner.checkpoint_io import check_checkpoint_file
from reidengine.utils.cli_errors import run_cli
from reidengine.utils.runner_utils import (add_common_args, build_runner, load_config,
                                          setup_distributed, teardown_distributed)
from reidengine.utils import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description='Test a ReID model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--flip', action='store_true', help='average with mirrored images')
    parser.add_argument('--rerank', action='store_true', help='k-reciprocal re-ranking')
    parser.add_argument('--show-dir', help='also write pictures of each test set here (ranked lists, '
                        'ROC, threshold, t-SNE, attention; see tools/visualize.py)')
    add_common_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    check_checkpoint_file(args.checkpoint)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.flip:
        cfg.model.setdefault('test_cfg', {})['flip'] = True
    if args.rerank:
        evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, list) else [cfg.test_evaluator]
        for ev in evaluators:
            ev.setdefault('rerank', dict(k1=20, k2=6, lambda_value=0.3))
    # test-only runs need no train/val state
    for key in ('train_dataloader', 'train_cfg', 'optim_wrapper', 'param_scheduler', 'val_dataloader',
                'val_cfg', 'val_evaluator'):
        cfg[key] = None
    setup_distributed(cfg)
    runner = build_runner(cfg)
    runner.test()
    if args.show_dir:
        write_show_dir(runner, cfg, args.show_dir)
    teardown_distributed()  # last: a launched worker process ends here


def write_show_dir(runner, cfg, show_dir: str) -> None:
    """Pictures of every test set under ``show_dir/<index>_<name>`` (main process only)."""
    from mmengine.dist import is_main_process
    from mmengine.model import is_model_wrapper
    from reidengine.visualization import write_test_pictures
    if not is_main_process():
        return
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    model.cfg = cfg
    loaders = cfg.test_dataloader if isinstance(cfg.test_dataloader, list) else [cfg.test_dataloader]
    for index, loader in enumerate(loaders):
        out = osp.join(show_dir, f'{index}_{loader["dataset"].get("type", "test")}')
        for name, what in write_test_pictures(model.eval(), out, set_index=index).items():
            print(f'{out}/{name}: {what}')


if __name__ == '__main__':
    run_cli(main)
