# SGD with linear warm-up then cosine decay, epoch based (TransReID / PAT style): warm-up from
# 0.01x the base lr, cosine down to 0.002x (TransReID's lr_min = 0.002 * base_lr; per parameter
# group, so the biases' 2x lr ends at 2x that).
# The three knobs reach the dicts through '${...}' references, resolved when the run is set up
# (docs/configs.md): `max_epochs = 30` in a child config or `--cfg-options max_epochs=30` gives a
# 30-epoch loop whose cosine ends at epoch 30. A literal written in a dict wins over the knob.
max_epochs = 60
warmup_epochs = 10
base_lr = 1e-3

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr='${base_lr}', momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(bias_lr_mult=2.0),
)

param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end='${warmup_epochs}',
         convert_to_iter_based=True),
    # T_max defaults to end - begin (the epochs after the warm-up)
    dict(type='CosineAnnealingLR', by_epoch=True, begin='${warmup_epochs}', end='${max_epochs}',
         eta_min_ratio=0.002, convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs='${max_epochs}')
test_cfg = dict(type='ReIDTestLoop')
