# DRFormer on SynthReID, a CPU-sized run (no download, no pretrained weights): trains on the 'A'
# (street) style, tests on A's own test split (supervised, as the paper) and, for reference, on the
# unseen 'B' (indoor) style. Two small encoders from scratch with the real model's structure:
# a "DINOv2-like" ViT (patch 14 at 126x62: 9x4 grid, ImageNet normalisation) and a "CLIP-like" ViT
# (ln_pre, QuickGELU, patch 16 at 128x64: 8x4 grid, CLIP normalisation), both 96-d x 3 blocks; the image
# is decoded and resized once (128x64) and the model resizes / normalises for each encoder.
# From scratch: AdamW 5e-4 (classifier x10), cosine; the paper's Adam 5e-6 fine-tunes pretrained encoders.
# Single-encoder baselines at the same budget: clip_baseline_synthreid.py, dinov2_baseline_synthreid.py.
_base_ = [
    '../_base_/datasets/reid_datasets.py',
    '../_base_/default_runtime.py',
    './_base_/drformer_vitb.py',
]
synth_size = (128, 64)  # SynthReID's native size, the "CLIP" encoder's input
synth_dino_size = (126, 62)  # the "DINOv2" encoder's: 9 x 4 patches of 14
synth_dim = 96
# no layer scale in the small "DINOv2": from scratch, DINOv2's 1e-5 would keep the blocks near identity
synth_arch = dict(embed_dim=synth_dim, depth=3, num_heads=4)
synth_gen = dict()  # generate_synthreid arguments (defaults: 100 train ids, 100 test ids, 4 cameras)
synth_cams = 4
num_train_ids = 100

model = dict(
    backbones=dict(
        dino=dict(backbone=dict(arch=dict(synth_arch, init_values=None, _delete_=True),
                                img_size=synth_dino_size,
                                sie_num_cams=synth_cams, drop_path_rate=0.0),
                  img_size=synth_dino_size),
        clip=dict(backbone=dict(arch=dict(synth_arch, _delete_=True), img_size=synth_size, sie_num_cams=synth_cams,
                                drop_path_rate=0.0),
                  img_size=synth_size)),
    neck=dict(dims=dict(dino=synth_dim, clip=synth_dim), num_heads=4),
    head=dict(num_classes=num_train_ids, in_channels=2 * synth_dim))

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=synth_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PadRandomCrop', padding=6),
    # against the camera colour shifts (as the other SynthReID configs); no random erasing in a
    # short from-scratch run
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1, prob=0.8),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=synth_size),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(
    num_workers=2,
    dataset=dict(type='SynthReID', style='A', split='train', gen_cfg=synth_gen, pipeline=train_pipeline,
                 _delete_=True))
_test = dict(_base_.test_loader, num_workers=2, persistent_workers=False)
test_dataloader = [
    dict(_test, dataset=dict(type='SynthReID', style='A', split='test', gen_cfg=synth_gen,
                             pipeline=test_pipeline)),
    dict(_test, dataset=dict(type='SynthReID', style='B', split='test', gen_cfg=synth_gen,
                             pipeline=test_pipeline)),
]

max_epochs, warmup_epochs, base_lr = 15, 1, 5e-4
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr='${base_lr}', weight_decay=0.05, _delete_=True),
    paramwise_cfg=dict(bias_lr_mult=1.0, custom_keys={'classifier': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end='${warmup_epochs}',
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin='${warmup_epochs}', end='${max_epochs}',
         eta_min_ratio=0.01, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs='${max_epochs}')
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval='${max_epochs}'))
