# AAformer on SynthReID, a CPU-sized run (no download, no pretrained weights): train on the 'A' (street)
# style, test on A's own test split (supervised, as the paper's protocols) and on the unseen 'B' style.
# A small ViT (128-d, 4 blocks, 4 heads, 16x16 patches: an 8x4 grid at 128x64) trained from scratch with
# [CLS] + 5 [PART]s (granularities {2, 3}), auto-alignment in every block, the paper's losses and test
# feature. Compare with vit_baseline_synthreid.py (the same ViT, data and schedule, [CLS] only).
_base_ = [
    '../_base_/datasets/reid_datasets.py',
    '../_base_/default_runtime.py',
]
custom_imports = dict(imports=['plugins.aaformer'], allow_failed_imports=False)

img_size = (128, 64)  # SynthReID's native size
synth_gen = dict()  # generate_synthreid arguments (defaults: 100 train ids, 100 test ids, 4 cameras)
synth_train = dict(type='SynthReID', style='A', split='train', gen_cfg=synth_gen)
synth_test_a = dict(type='SynthReID', style='A', split='test', gen_cfg=synth_gen)
synth_test_b = dict(type='SynthReID', style='B', split='test', gen_cfg=synth_gen)
num_train_ids = 100
embed_dim = 128
patch = 16
granularities = [2, 3]
num_parts = 5
triplet = dict(type='TripletLoss', margin=0.3, hard_mining=True, loss_weight=1.0)

model = dict(
    type='AAformerModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor', mean=[127.5, 127.5, 127.5],
                           std=[127.5, 127.5, 127.5], bgr_to_rgb=True),
    backbone=dict(
        type='ViTReID',
        arch=dict(embed_dim=embed_dim, depth=4, num_heads=4),
        img_size=img_size, patch_size=patch, stride_size=patch,
        num_extra_tokens=num_parts, extra_token_init='random',
        drop_path_rate=0.1, pretrained=None,
        attn_layer=dict(type='AutoAlignmentAttention', granularities=granularities,
                        assignment='optimal_transport', score='cosine', sinkhorn_eps=0.05,
                        sinkhorn_iterations=3, part_sees_itself=False)),
    neck=dict(type='PartTokenSplit', num_parts=num_parts),
    head=dict(
        type='MultiFeatureHead',
        num_classes=num_train_ids,
        reduction='mean',
        defaults=dict(bnneck=True,
                      classifier=dict(type='LinearClassifier', init_std=0.001),
                      loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
                      loss_triplet=None, triplet_feat='before_bn'),
        features=dict(
            cls=dict(in_channels=embed_dim, loss_triplet=triplet),
            part_1=dict(in_channels=embed_dim), part_2=dict(in_channels=embed_dim),
            part_3=dict(in_channels=embed_dim), part_4=dict(in_channels=embed_dim),
            part_5=dict(in_channels=embed_dim),
            parts=dict(in_channels=embed_dim * num_parts, bnneck=False, classifier=None, loss_cls=None,
                       loss_triplet=triplet)),
        test_features=['cls', 'part_1', 'part_2', 'part_3', 'part_4', 'part_5'],
        test_feat='after_bn'),
    vis_layer=-1,
    test_cfg=dict(flip=False))

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PadRandomCrop', padding=10),
    # against the cameras' colour shifts (as the CNN demo, configs/demo/bot_r18_synthreid.py)
    dict(type='ColorJitter', brightness=0.3, contrast=0.3, saturation=0.3, hue=0.1, prob=0.8),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(
    num_workers=2,
    dataset=dict(synth_train, pipeline=train_pipeline, _delete_=True))
test_dataloader = [
    dict(_base_.test_loader, num_workers=2, dataset=dict(synth_test_a, pipeline=test_pipeline)),
    dict(_base_.test_loader, num_workers=2, dataset=dict(synth_test_b, pipeline=test_pipeline)),
]
test_evaluator = dict(type='ReIDMetric', metric='euclidean')

# from scratch: AdamW (the paper fine-tunes ImageNet weights with SGD); 25 iterations per epoch
max_epochs, warmup_epochs, base_lr = 24, 3, 5e-4
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr='${base_lr}', weight_decay=0.05),
    # the classifiers start at std 0.001: a 10x lr lets the ID logits grow within the first epochs
    paramwise_cfg=dict(custom_keys={'classifier': dict(lr_mult=10.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end='${warmup_epochs}',
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin='${warmup_epochs}', end='${max_epochs}',
         eta_min_ratio=0.002, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs='${max_epochs}')
test_cfg = dict(type='ReIDTestLoop')
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval='${max_epochs}', max_keep_ckpts=1))
