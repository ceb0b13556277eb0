# ViT baseline = TransReID without SIE/JPM (He et al. 2021) on Market-1501, supervised:
# SGD lr 0.008 (batch 64), momentum 0.9, weight decay 1e-4, 5-epoch warm-up, cosine, 120 epochs.
_base_ = [
    '../_base_/models/vit_base.py',
    '../_base_/datasets/reid_datasets.py',
    '../_base_/schedules/sgd_warmup_cosine.py',
    '../_base_/default_runtime.py',
]
pretrained = None  # path to jx_vit_base_p16_224-80ecf9dd.pth or a timm ViT-B/16 ImageNet checkpoint
model = dict(head=dict(num_classes=_base_.num_pids['market1501']))

train_dataloader = dict(dataset=_base_.market1501_train)
test_dataloader = [dict(_base_.test_loader, dataset=_base_.market1501_test)]

# knobs of the schedule base: the loop, warm-up, cosine and optimizer follow them
max_epochs, warmup_epochs, base_lr = 120, 5, 0.008
