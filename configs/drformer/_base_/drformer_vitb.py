# DRFormer (Shu et al., "DRFormer: A Dual-Regularized Bidirectional Transformer for Person
# Re-identification"): DINOv2 ViT-B/14 at 252x126 (18x9 patches) + CLIP ViT-B/16 at 256x128 (16x8),
# N = 2 random learnable tokens per encoder, SIE on the first, bidirectional fusion transformer
# (1 cross-attention + 2 self-attention layers per direction), ID + triplet + 0.5 L_inter + 5 L_intra,
# Adam 5e-6, 70 epochs. What the paper does not state follows CLIP-ReID's second stage (Li et al.,
# AAAI 2023): 16 ids x 4, warm-up 10 epochs from 0.1x, steps at 30 and 50 (x0.1), weight decay 1e-4,
# bias lr x2, flip + pad-crop 10 + random erasing 0.5, triplet margin 0.3 on the pre-BN feature,
# label smoothing 0.1, no stochastic depth (CLIP-ReID's encoder has none), test feature = pre-BN fused
# feature L2-normalised. Every decision: plugins/drformer/README.md.
#
# Experiment configs set: model.head.num_classes, the SIE camera count of both encoders
# (model.backbones.*.backbone.sie_num_cams) and the datasets (pipelines below).
custom_imports = dict(imports=['plugins.drformer'], allow_failed_imports=False)

dino_pretrained = None  # path to dinov2_vitb14_pretrain.pth (Meta); nothing is downloaded
clip_pretrained = None  # path to OpenAI ViT-B-16.pt (or an open_clip ViT-B-16 state dict)
num_tokens = 2  # N learnable tokens per encoder
dim = 768

# one decode, one resize to the largest encoder size; the model resizes to 252x126 for DINOv2 and
# normalises each encoder's input with its own statistics (0-255 scale, RGB)
drformer_size = (256, 128)
dino_norm = dict(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))  # ImageNet (DINOv2)
clip_norm = dict(mean=(122.770938, 116.7460125, 104.09373615), std=(68.5005327, 66.6321579, 70.32316305))  # CLIP

drformer_train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=drformer_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PadRandomCrop', padding=10),
    # timm RandomErasing(mode='pixel') as CLIP-ReID: N(mean, std) noise (CLIP's statistics)
    dict(type='RandomErasing', prob=0.5, area_range=(0.02, 1 / 3), min_aspect=0.3, fill='normal',
         mean=clip_norm['mean'], std=clip_norm['std'], max_attempts=10, log_aspect=True),
    dict(type='PackReIDInputs'),
]
drformer_test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=drformer_size),
    dict(type='PackReIDInputs'),
]

model = dict(
    type='DRFormerModel',
    # eq. 1-2 have no [cls]: nobody attends to the encoders' [cls] ('kept': it takes part)
    cls_token='masked',
    # RGB on the 0-255 scale, not normalised: each encoder normalises its own input
    data_preprocessor=dict(type='ReIDDataPreprocessor', mean=(0, 0, 0), std=(1, 1, 1), bgr_to_rgb=True),
    backbones=dict(
        dino=dict(
            backbone=dict(type='DINOv2ReID', arch='vit_base_patch14_dinov2', img_size=(252, 126),
                          patch_size=14, stride_size=14, num_extra_tokens=num_tokens,
                          extra_token_init='random', sie_num_cams=0, sie_coef=1.0,
                          sie_target='first_extra_token', drop_path_rate=0.0,
                          grad_checkpointing=False, pretrained=dino_pretrained),
            img_size=(252, 126), **dino_norm),
        clip=dict(
            backbone=dict(type='CLIPViTReID', arch='ViT-B-16', img_size=(256, 128), patch_size=16,
                          stride_size=16, use_proj=False, num_extra_tokens=num_tokens,
                          extra_token_init='random', sie_num_cams=0, sie_coef=1.0,
                          sie_target='first_extra_token', drop_path_rate=0.0,
                          grad_checkpointing=False, pretrained=clip_pretrained),
            img_size=(256, 128), **clip_norm),
    ),
    neck=dict(type='DRFormerFusion', encoders=('dino', 'clip'), num_tokens=num_tokens,
              dims=dict(dino=dim, clip=dim), fusion='transformer', num_self_layers=2, num_heads=12,
              mlp_ratio=4.0, share_weights=False, token_reduction='mean', final_norm=True),
    head=dict(
        type='DRFormerHead',
        num_classes=None,  # the experiment config sets the training identities
        in_channels=2 * dim,
        directions=('dino_to_clip', 'clip_to_dino'),
        encoders=('dino', 'clip'),
        fused=dict(bnneck=True, classifier=dict(type='LinearClassifier', init_std=0.001),
                   loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
                   loss_triplet=dict(type='TripletLoss', margin=0.3, hard_mining=True, loss_weight=1.0),
                   triplet_feat='before_bn'),
        loss_inter=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=0.5),  # lambda_1
        # lambda_2; clamp_at_zero=True: max(cos, 0), the [0, 1] range the paper's text states
        loss_intra=dict(type='TokenDiversityLoss', loss_weight=5.0, clamp_at_zero=False),
        test_feat='before_bn', normalize_test=True),
    test_cfg=dict(flip=False))

# Adam 5e-6, 70 epochs (paper); CLIP-ReID stage 2: wd 1e-4 (biases too), bias lr x2, linear warm-up
# over 10 epochs from 0.1x, x0.1 at epochs 30 and 50
max_epochs, warmup_epochs, base_lr = 70, 10, 5e-6
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=base_lr, weight_decay=1e-4),
    paramwise_cfg=dict(bias_lr_mult=2.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs),
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 50], gamma=0.1, begin=0, end=max_epochs),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs + 1)
test_cfg = dict(type='ReIDTestLoop')
