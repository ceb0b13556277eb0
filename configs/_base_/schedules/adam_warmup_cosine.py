# Adam with linear warm-up then cosine decay, epoch based: BoT's optimizer and warm-up (Luo et al.
# 2019: Adam 3.5e-4, weight decay 5e-4, warm-up from 0.1x over 10 epochs) with a cosine decay to
# 0.01x the base lr instead of BoT's steps (configs/baselines/bot_r50_market1501.py keeps the steps).
# Used by the CNN demo (configs/demo/). The knobs reach the dicts through '${...}' references
# (docs/configs.md), so a child config or --cfg-options changes the whole schedule by setting them.
max_epochs = 120
warmup_epochs = 10
base_lr = 3.5e-4

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr='${base_lr}', weight_decay=5e-4),
)

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end='${warmup_epochs}',
         convert_to_iter_based=True),
    # T_max defaults to end - begin (the epochs after the warm-up)
    dict(type='CosineAnnealingLR', by_epoch=True, begin='${warmup_epochs}', end='${max_epochs}',
         eta_min_ratio=0.01, convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs='${max_epochs}')
test_cfg = dict(type='ReIDTestLoop')
