# MDPR on SynthReID, a CPU-sized experiment (no download, no pretrained weights): train on the 'A'
# (street) style, test on the unseen 'B' (indoor) style and on A's own test split, as the CNN demo
# (configs/demo/bot_r18_synthreid.py), with its optimiser and schedule shape (Adam 1e-3, cosine).
# Network: a quarter-width ResNet-18-IBN-a (16-128 channels) from scratch, M = 32, K = 2, N = 2,
# both branches, guidance, fusion and distillation on; the loss switches of the full configs.
# Batch 8 ids x 8 (16 x 16 would give 7 optimiser steps per epoch on 100 ids x 16 images); 8 epochs
# of 25 steps. Run it with OMP_NUM_THREADS=1 on a loaded machine (2 threads were 10-40x slower
# under a load average of 20 on 2 cores); times in plugins/mdpr/README.md. The single-branch
# networks of Table VIII are mdpr_synthreid_hard_single.py and mdpr_synthreid_soft_single.py.
_base_ = ['./_base_/mdpr_r101_ibn.py']

img_size = (128, 64)  # SynthReID's native size
synth_gen = dict()  # generate_synthreid arguments (default: 100 train / 100 test ids, 4 cameras)
num_train_ids = 100

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='PadRandomCrop', size=img_size, padding=6),
    dict(type='RandomFlip', prob=0.5),
    # the demo's domain-shift counters instead of erasing / patch (an 8-epoch run cannot afford them)
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1, prob=0.8),
    dict(type='RandomGaussianBlur', sigma=(0.2, 1.2), prob=0.3),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='PackReIDInputs'),
]

model = dict(
    backbone=dict(depth=18, base_channels=16, pretrained=None),
    embed_dim=32,
    head=dict(num_classes=num_train_ids))

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    sampler=dict(type='PKSampler', num_instances=8, batch_size=64),
    dataset=dict(type='SynthReID', style='A', split='train', gen_cfg=synth_gen, pipeline=train_pipeline,
                 _delete_=True))
_test = dict(_base_.test_loader, num_workers=2)
test_dataloader = [
    dict(_test, dataset=dict(type='SynthReID', style='B', split='test', gen_cfg=synth_gen,
                             pipeline=test_pipeline)),
    dict(_test, dataset=dict(type='SynthReID', style='A', split='test', gen_cfg=synth_gen,
                             pipeline=test_pipeline)),
]

max_epochs, warmup_epochs, base_lr = 8, 1, 1e-3
optim_wrapper = dict(optimizer=dict(lr='${base_lr}'))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end='${warmup_epochs}',
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin='${warmup_epochs}', end='${max_epochs}',
         eta_min_ratio=0.01, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs='${max_epochs}')
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval='${max_epochs}'))
