# MDPR (Fu, Cui et al., "Mutual Distillation Learning For Person Re-Identification", 2024):
# ResNet-101-IBN-a with last stride 1 (LUPerson MoCo weights), M = 512, K = 2, N = 2, attention
# guidance, fusion and mutual distillation on; 384 x 192; Adam 3.5e-4, weight decay 5e-4, warm-up
# from 0.1x then cosine; batch 16 ids x 16 (ids with fewer images completed with duplicates by the
# PK sampler); flip, pad 10 + crop, random erasing 0.5, random patch 0.5. The loss switches follow
# the released code, which produced the paper's numbers; the paper's forms are one switch away
# (plugins/mdpr/README.md): head.circle_form='pairwise', diversity count_pairs='twice' and
# l1_on='bap_features', model bap_shared_gem=False.
_base_ = ['../../_base_/datasets/reid_datasets.py', '../../_base_/default_runtime.py']
custom_imports = dict(imports=['plugins.mdpr'], allow_failed_imports=False)

img_size = (384, 192)
# LUPerson MoCo ResNet-101-IBN-a (read locally, never downloaded); the loader logs whether its IBN
# layers were found and refuses a plain checkpoint for this IBN model
pretrained = None

model = dict(
    type='MDPRModel',
    data_preprocessor=dict(
        type='ReIDDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        channels_last=True),
    backbone=dict(type='ResNetReID', depth=101, ibn='a', last_stride=1, pretrained=pretrained),
    embed_dim=512,            # M (Table V)
    num_parts=2,              # N
    num_attention=2,          # K (Table VI)
    branches=('hard', 'soft'),  # one of them: the single-branch networks of Table VIII
    fusion=True,              # Table IX
    distillation=True,        # Table IX
    attention_guidance=True,  # Table VII
    layer3_conv=True,         # the released 1x1 conv 1024 -> 1024 + BN + ReLU on layer3 (Fig. 5's Conv)
    bap_shared_gem=True,      # released: one GeM p for the K BAP maps (paper: one per map)
    fusion_convs='sequential',  # released: 3x3 after 1x1 in each fusion block
    gem_p=3.0,
    head=dict(
        type='MDPRHead',
        num_classes=None,  # set by the experiment config
        circle_form='classifier',  # released CircleSoftmax + smoothed CE; 'pairwise' = eq. 5
        circle=dict(scale=64.0, margin=0.35),
        label_smoothing=0.1,
        loss_triplet=dict(type='TripletLoss', margin=0.05, hard_mining=True),
        diversity=dict(type='AttentionDiversityLoss', beta=0.001, count_pairs='once',
                       l1_on='attention_maps'),
        distillation=dict(type='MutualDistillationLoss', hidden_dim=None, loss_weight=1.0)),
    test_cfg=dict(flip=False))

train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='PadRandomCrop', size=img_size, padding=10),
    dict(type='RandomFlip', prob=0.5),
    # torchvision's RandomErasing as fast-reid calls it: mean fill, area 0.02-0.33, 10 attempts
    dict(type='RandomErasing', prob=0.5, fill='mean', area_range=(0.02, 0.33), min_aspect=0.3,
         max_attempts=10, log_aspect=True),
    dict(type='RandomPatch', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='PackReIDInputs'),
]

num_instances = 16
train_batch_size = 256  # global: 16 ids x 16; on 4 GPUs each rank gets 4 ids x 16 (the paper's split)
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=8,
    persistent_workers=False,
    sampler=dict(type='PKSampler', num_instances=num_instances, batch_size=train_batch_size),
)
test_evaluator = dict(type='ReIDMetric', metric='cosine')

# Adam; warm-up from 0.1x over `warmup_iters` iterations, then cosine to 1e-7 over the epochs left,
# stepped per epoch (the released trainer: T_max = epochs - ceil(warm-up iterations / epoch length))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=3.5e-4, betas=(0.9, 0.999), weight_decay=5e-4))
test_cfg = dict(type='ReIDTestLoop')
default_hooks = dict(checkpoint=dict(interval=10))
