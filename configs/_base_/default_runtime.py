# Runtime shared by every experiment.
default_scope = 'reidengine'
# ReIDRunner: atomic weights-only checkpoints, exact resume, damaged-checkpoint skip
# (docs/reliability.md); the tools build it through RUNNERS.
runner_type = 'ReIDRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='ReIDCheckpointHook', interval=1, max_keep_ckpts=3, save_last=True),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # NaN / inf loss or gradient: 'raise' stops the run naming the last good checkpoint;
    # 'skip' drops the optimizer step and counts it
    nonfinite_loss=dict(type='NonFiniteLossHook', policy='raise', max_consecutive_skips=10),
    # validation does not consume the training's random numbers (exact resume)
    eval_rng=dict(type='EvalRNGIsolationHook'),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

log_processor = dict(type='LogProcessor', window_size=20, by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
# mixed precision (reidengine/engine/amp.py): training under autocast with the AMP optimizer
# wrapper, testing under autocast; dtype 'bfloat16' or 'float16' (GPU); a CPU without AMX or
# AVX512-BF16 runs float32. Also: tools/train.py|test.py --amp [bfloat16|float16].
amp = dict(enabled=False, dtype='bfloat16')
