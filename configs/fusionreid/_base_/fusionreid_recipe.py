# FusionReID training recipe (sec. IV-B): batch 128 = 8 identities x 16 images, flip, pad 10 + random
# crop, random erasing 0.5; SGD momentum 0.9, weight decay 1e-4; lr 5e-4 growing linearly to 5e-3 over
# 10 epochs, then cosine decay over 170 epochs (180 in all). Unstated by the paper, taken from the
# released code: bias lr x2, cosine floor 1e-5. Test: each dataset's own query / gallery (cosine on the
# L2-normalised feature = Euclidean ranking, as the released code).
_base_ = [
    '../../_base_/datasets/reid_datasets.py',
    '../../_base_/default_runtime.py',
    './fusionreid_r50_vitb16.py',
]
# image size: the size configs set img_size; the pipelines of reid_datasets.py follow it
# ('${img_size}', resolved when the config is loaded)
img_size = (256, 128)
train_dataloader = dict(
    batch_size=128,
    sampler=dict(type='PKSampler', num_instances=16, batch_size=128))

max_epochs, warmup_epochs, base_lr = 180, 10, 5e-3
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=base_lr, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(bias_lr_mult=2.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs, end=max_epochs,
         T_max=max_epochs - warmup_epochs, eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs + 1)
test_cfg = dict(type='ReIDTestLoop')
default_hooks = dict(checkpoint=dict(interval=10))
