# MDPR on Market-1501 (paper Table III: 94.2 mAP / 97.4 R1): 60 epochs, 2,000 warm-up iterations.
# Epoch length: the PK sampler gives about 50 batches of 16 x 16 per epoch on Market-1501 (as the
# released trainer's 12,936 // 256), so the cosine starts at epoch 40.
_base_ = ['./_base_/mdpr_r101_ibn.py']

model = dict(head=dict(num_classes=_base_.num_pids['market1501']))
train_dataloader = dict(dataset=dict(_base_.market1501_train, pipeline=_base_.train_pipeline))
test_dataloader = [dict(_base_.test_loader,
                        dataset=dict(_base_.market1501_test, pipeline=_base_.test_pipeline))]

max_epochs, warmup_iters, cosine_begin = 60, 2000, 40
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=cosine_begin, end=max_epochs,
         T_max=max_epochs - cosine_begin, eta_min=1e-7),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
