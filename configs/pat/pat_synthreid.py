# PAT on SynthReID, a CPU-sized DG experiment (no download, no pretrained weights): train on the 'A'
# (street) style, test on the unseen 'B' (indoor) style, and on A's own test split for reference.
# A small ViT (128-d, 4 blocks, 8x4 grid of 16x16 patches at 128x64) trained from scratch with
# AdamW; PAT's part tokens, mask, CSL and PSD as in the paper. Compare with vit_baseline_synthreid.py.
_base_ = ['./_base_/pat_vit_b16.py', './_base_/pat_dg_runtime.py']

img_size = (128, 64)  # SynthReID's native size (a knob: pipelines and backbone follow it)
# generate_synthreid arguments (defaults: 100 train ids, 100 test ids, 4 cameras)
synth_gen = dict()
synth_train = dict(type='SynthReID', style='A', split='train', gen_cfg=synth_gen)
synth_test_a = dict(type='SynthReID', style='A', split='test', gen_cfg=synth_gen)
synth_test_b = dict(type='SynthReID', style='B', split='test', gen_cfg=synth_gen)
num_train_ids = 100
vit_arch = dict(embed_dim=128, depth=4, num_heads=4)
patch = 16  # 8x4 grid at 128x64 (patch 8 gives the paper's 16x8 grid but costs 4x per iteration)

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PadRandomCrop', padding=10),
    # against the camera/domain colour shifts (as in the CNN demo, configs/demo/bot_r18_synthreid.py)
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1, prob=0.8),
    dict(type='RandomGaussianBlur', sigma=(0.2, 1.2), prob=0.3),
    dict(type='LocalGrayscale', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='PackReIDInputs'),
]

model = dict(
    # from scratch: the patch embedding is trained (PAT freezes a pretrained one)
    backbone=dict(arch=dict(vit_arch, _delete_=True), patch_size=patch, stride_size=patch,
                  frozen_patch_embed=False),
    head=dict(in_channels=vit_arch['embed_dim'], num_classes=num_train_ids),
    test_cfg=dict(flip=True))  # average with the mirrored image

train_dataloader = dict(
    num_workers=2,
    dataset=dict(synth_train, pipeline=train_pipeline, _delete_=True))
test_dataloader = [
    dict(_base_.test_loader, num_workers=2, dataset=dict(synth_test_b, pipeline=test_pipeline)),
    dict(_base_.test_loader, num_workers=2, dataset=dict(synth_test_a, pipeline=test_pipeline)),
]
custom_hooks = [
    dict(type='PATMemoryBankHook', fill_pipeline=test_pipeline, batch_size=128, num_workers=2),
]

# from scratch: AdamW and a longer schedule than the paper's fine-tuning (SGD 1e-3 / 60 epochs on
# ImageNet weights); a ViT from scratch needs far more passes over 1,600 images than a CNN
max_epochs, warmup_epochs, base_lr = 80, 5, 5e-4
optim_wrapper = dict(
    optimizer=dict(type='AdamW', lr='${base_lr}', weight_decay=0.05, _delete_=True),
    # the classifier starts at std 0.001: a 10x lr lets the ID logits grow within the first epochs
    paramwise_cfg=dict(bias_lr_mult=1.0, custom_keys={'head.classifier': dict(lr_mult=10.0)}))
# warm-up from 0.1x (the SGD base's 0.01x is for fine-tuning), then the base's cosine
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end='${warmup_epochs}',
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin='${warmup_epochs}', end='${max_epochs}',
         eta_min_ratio=0.002, convert_to_iter_based=True),
]
default_hooks = dict(logger=dict(interval=5))
