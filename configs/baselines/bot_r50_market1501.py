# BoT baseline (Luo et al. 2019) on Market-1501, supervised: Adam 3.5e-4, weight decay 5e-4,
# 10-epoch linear warm-up from 0.1x, lr x0.1 at epochs 40 and 70, 120 epochs, 16 ids x 4.
_base_ = [
    '../_base_/models/bot_r50.py',
    '../_base_/datasets/reid_datasets.py',
    '../_base_/schedules/adam_warmup_cosine.py',
    '../_base_/default_runtime.py',
]
pretrained = None  # path to torchvision's resnet50-0676ba61.pth (read locally, never downloaded)
model = dict(head=dict(num_classes=_base_.num_pids['market1501']))

train_dataloader = dict(dataset=_base_.market1501_train)
test_dataloader = [dict(_base_.test_loader, dataset=_base_.market1501_test)]

# the schedule base's knobs are BoT's (120 epochs, 10 of warm-up, Adam 3.5e-4); BoT decays in steps
max_epochs, warmup_epochs, base_lr = 120, 10, 3.5e-4
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end='${warmup_epochs}',
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[40, 70], gamma=0.1),
]
