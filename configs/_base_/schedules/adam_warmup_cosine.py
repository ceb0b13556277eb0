# Adam with linear warm-up then cosine decay (BoT / FastReID style).
max_epochs = 120
warmup_epochs = 10
base_lr = 3.5e-4

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=base_lr, weight_decay=5e-4),
    paramwise_cfg=dict(bias_decay_mult=0.0, norm_decay_mult=0.0),
)

param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs, end=max_epochs,
         T_max=max_epochs - warmup_epochs, eta_min=base_lr * 1e-3, convert_to_iter_based=True),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs + 1)
test_cfg = dict(type='ReIDTestLoop')
