# FusionReID on SynthReID, CPU-sized (no download, no pretrained weights): train on the 'A' style, test
# on A's own test split (supervised, as the paper) and on the unseen 'B' style. Sized to train in
# minutes on a shared 2-core CPU: images at half SynthReID's size (64x32), both branches small and
# trained from scratch: a quarter-width ResNet-18 (16-128 channels, last stride 1: a 128 x 4 x 2 map)
# and a 64-d, 3-block ViT with 8x8 patches at stride 8 (an 8 x 4 grid, so the paper's resizing LRU has
# work to do: a 5 x 3 depthwise kernel to 4 x 2), camera embedding on 4 cameras; fusion width D = 64,
# 4 heads, L = 2 HTM layers; everything else as the paper's model.
# Baselines at the same budget: r18_baseline_synthreid.py, vit_baseline_synthreid.py.
_base_ = [
    '../_base_/datasets/reid_datasets.py',
    '../_base_/default_runtime.py',
    './_base_/fusionreid_r50_vitb16.py',
]
img_size = (64, 32)  # half of SynthReID's 128x64
synth_gen = dict()  # generate_synthreid arguments (default: 100 train / 100 test ids, 4 cameras)
num_train_ids = 100
cnn_cfg = dict(type='ResNetReID', depth=18, base_channels=16, last_stride=1, pretrained=None)
vit_cfg = dict(type='ViTReID', arch=dict(embed_dim=64, depth=3, num_heads=4), img_size=img_size,
               patch_size=8, stride_size=8, sie_num_cams=4, sie_coef=3.0, drop_path_rate=0.1,
               pretrained=None)
dim = 64

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PadRandomCrop', padding=3),
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
    backbones=dict(cnn=dict(backbone=dict(cnn_cfg, _delete_=True)),
                   vit=dict(backbone=dict(vit_cfg, _delete_=True))),
    neck=dict(cnn_channels=128, cnn_grid=(4, 2), vit_channels=64, vit_grid=(8, 4), dim=dim,
              htm=dict(num_heads=4)),
    head=dict(num_classes=num_train_ids,
              features=dict(cnn=dict(in_channels=128), vit=dict(in_channels=64),
                            lru_cnn=dict(in_channels=dim), lru_vit=dict(in_channels=dim),
                            htm_cnn=dict(in_channels=dim), htm_vit=dict(in_channels=dim))))

train_dataloader = dict(
    num_workers=2,
    dataset=dict(type='SynthReID', style='A', split='train', gen_cfg=synth_gen,
                 pipeline=train_pipeline, _delete_=True))
_test = dict(_base_.test_loader, num_workers=2)
test_dataloader = [
    dict(_test, dataset=dict(type='SynthReID', style='A', split='test', gen_cfg=synth_gen,
                             pipeline=test_pipeline)),
    dict(_test, dataset=dict(type='SynthReID', style='B', split='test', gen_cfg=synth_gen,
                             pipeline=test_pipeline)),
]

# from scratch: Adam (the CNN demo's optimiser), short warm-up, cosine
max_epochs, warmup_epochs, base_lr = 16, 1, 1e-3
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr='${base_lr}', weight_decay=5e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end='${warmup_epochs}',
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin='${warmup_epochs}', end='${max_epochs}',
         eta_min_ratio=0.01, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs='${max_epochs}')
test_cfg = dict(type='ReIDTestLoop')
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval='${max_epochs}'))
