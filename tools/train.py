"""Train a ReID model from a config: ``python tools/train.py CONFIG [--work-dir] [--resume] ...``.

After training, the configured test sets are evaluated (``--no-test`` skips it) and the results
table is written to the work dir.
"""
import argparse

from reidengine.engine.runner.checkpoint_io import check_checkpoint_file
from reidengine.engine.runner.work_dir_lock import claim_work_dir
from reidengine.utils.cli_errors import run_cli
from reidengine.utils.config_checks import check_training_length
from reidengine.utils.runner_utils import (add_common_args, build_runner, load_config,
                                          setup_distributed, teardown_distributed)
from reidengine.utils import register_all_modules


def parse_args():
    parser = argparse.ArgumentParser(description='Train a ReID model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--resume', nargs='?', const='auto', default=None,
                        help='resume from the latest checkpoint in the work dir, or from the given one')
    parser.add_argument('--fresh', action='store_true',
                        help='move the run already in the work dir aside (to <work_dir>.old-<time>) '
                             'and start a new one; without it such a work dir is refused')
    parser.add_argument('--no-test', action='store_true', help='do not test after training')
    add_common_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)
    cfg = load_config(args)
    check_training_length(cfg)
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if cfg.get('load_from'):
        check_checkpoint_file(cfg.load_from)
    setup_distributed(cfg)
    with claim_work_dir(cfg.work_dir, resume=bool(cfg.get('resume')), fresh=args.fresh,
                        resume_from=cfg.get('load_from') if cfg.get('resume') else None):
        runner = build_runner(cfg)
        runner.train()
        if not args.no_test and cfg.get('test_dataloader') is not None:
            runner.test()
    teardown_distributed()  # last: a launched worker process ends here


if __name__ == '__main__':
    run_cli(main)
