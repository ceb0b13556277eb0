# AAformer (Zhu et al., "AAformer: Auto-Aligned Transformer for Person Re-Identification", IEEE TNNLS
# 2023): ViT-B/16 at 256x128 with [CLS] + 5 [PART] tokens (granularities {2, 3}), Multi-head
# Auto-Alignment in every block, label-smoothed CE on CLS and each part (separate BNNeck + classifier,
# averaged over P + 1 = 6, eq. 6), batch-hard triplet (margin 0.3) on CLS and on the concatenated parts
# (averaged over the two, eq. 7); test feature: CLS and parts after BN, concatenated; Euclidean distance.
# Supervised recipe (Sec. IV-A): SGD momentum 0.9, weight decay 1e-4, batch 16 ids x 4, 10-epoch linear
# warm-up 8e-4 -> 8e-3, cosine decay, 120 epochs; crop, flip, random erasing 0.5; no camera embedding.
# Every choice the paper leaves open is listed in plugins/aaformer/README.md.
#
# Granularities: the variables below are read when THIS file is parsed; to change them (Table VI), copy
# the model dict into the experiment config (a child config's `granularities` would not reach it).
_base_ = [
    '../../_base_/datasets/reid_datasets.py',
    '../../_base_/schedules/sgd_warmup_cosine.py',
    '../../_base_/default_runtime.py',
]
custom_imports = dict(imports=['plugins.aaformer'], allow_failed_imports=False)

granularities = [2, 3]
num_parts = 5  # sum(granularities)
embed_dim = 768
triplet = dict(type='TripletLoss', margin=0.3, hard_mining=True, loss_weight=1.0)

model = dict(
    type='AAformerModel',
    data_preprocessor=dict(
        type='ReIDDataPreprocessor',
        mean=[127.5, 127.5, 127.5],  # ImageNet ViT-B/16 (jx_vit_base_p16_224) normalisation
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True),
    backbone=dict(
        type='ViTReID',
        arch='vit_base_patch16_224',
        img_size=(256, 128),
        patch_size=16,
        stride_size=16,
        num_extra_tokens=num_parts,
        extra_token_init='random',  # [PART]s: trunc-normal 0.02, no position embedding
        drop_path_rate=0.1,
        sie_num_cams=0,  # no camera embedding
        # path to a local ImageNet ViT-B/16 checkpoint (e.g. jx_vit_base_p16_224-80ecf9dd.pth)
        pretrained=None,
        attn_layer=dict(
            type='AutoAlignmentAttention',
            granularities=granularities,
            assignment='optimal_transport',  # 'nearest_neighbour' (Table V) | 'stripes' (Table IV)
            score='cosine',  # L2-normalised part queries / patch keys ('dot': raw q . k)
            sinkhorn_eps=0.05,
            sinkhorn_iterations=3,
            part_sees_itself=False),  # eq. 2: a part attends to its assigned patches only
        attn_layer_indices=None),  # every block
    neck=dict(type='PartTokenSplit', num_parts=num_parts),
    head=dict(
        type='MultiFeatureHead',
        num_classes=None,  # placeholder: the number of training identities
        reduction='mean',  # CE / (P + 1) (eq. 6), triplet / 2 (eq. 7)
        defaults=dict(
            bnneck=True,
            classifier=dict(type='LinearClassifier', init_std=0.001),
            loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
            loss_triplet=None,
            triplet_feat='before_bn'),
        features=dict(
            cls=dict(in_channels=embed_dim, loss_triplet=triplet),
            part_1=dict(in_channels=embed_dim), part_2=dict(in_channels=embed_dim),
            part_3=dict(in_channels=embed_dim), part_4=dict(in_channels=embed_dim),
            part_5=dict(in_channels=embed_dim),
            # the concatenated parts: triplet only (no BNNeck, classifier or ID loss)
            parts=dict(in_channels=embed_dim * num_parts, bnneck=False, classifier=None, loss_cls=None,
                       loss_triplet=triplet)),
        test_features=['cls', 'part_1', 'part_2', 'part_3', 'part_4', 'part_5'],
        test_feat='after_bn'),  # 'before_bn': the raw tokens
    vis_layer=2,  # the paper's Fig. 5 shows the third block
    test_cfg=dict(flip=False))

# schedule (Sec. IV-A)
max_epochs, warmup_epochs, base_lr = 120, 10, 8e-3
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=base_lr, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(bias_lr_mult=1.0))  # the paper names no bias / norm exceptions
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=warmup_epochs,
         convert_to_iter_based=True),  # 8e-4 -> 8e-3
    dict(type='CosineAnnealingLR', by_epoch=True, begin=warmup_epochs, end=max_epochs,
         T_max=max_epochs - warmup_epochs, eta_min=base_lr * 1e-3, convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs + 1)
test_evaluator = dict(type='ReIDMetric', metric='euclidean')
