# MDPR on SynergyReID (paper Table II: 94.0 mAP / 98.0 R1): 40 epochs, 200 warm-up iterations
# (about 33 batches of 16 x 16 per epoch: the cosine starts at epoch 7 = ceil(200 / 33)).
# Layout expected under the data root: docs/datasets.md (synergyreid/data_reid/reid_training, ...).
_base_ = ['./_base_/mdpr_r101_ibn.py']

num_train_ids = 436
synergy_train = dict(type='SynergyReID', data_root=_base_.data_root, split='train',
                     pipeline=_base_.train_pipeline)
synergy_test = dict(type='SynergyReID', data_root=_base_.data_root, split='test',
                    pipeline=_base_.test_pipeline)
model = dict(head=dict(num_classes=num_train_ids))
train_dataloader = dict(dataset=synergy_train)
test_dataloader = [dict(_base_.test_loader, dataset=synergy_test)]

max_epochs, warmup_iters, cosine_begin = 40, 200, 7
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=cosine_begin, end=max_epochs,
         T_max=max_epochs - cosine_begin, eta_min=1e-7),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
