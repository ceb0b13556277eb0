# ViT baseline = TransReID without SIE and JPM (He et al. 2021, "TransReID", sec. 3.1):
# ViT-B/16 at 256x128 (patch stride 16, drop path 0.1), the [CLS] token as global feature, BNNeck,
# label-smoothed CE (eps 0.1) on the BN feature through a bias-free classifier, batch-hard triplet
# (margin 0.3) on the [CLS] feature; test feature before BN. Pixels normalised with
# mean = std = 0.5 (on the 0-255 scale: 127.5), as TransReID.
#
# num_classes: left None here, to be set by the experiment config from the dataset config's
# `num_pids` (a variable here could not be overridden by the dataset base config: mmengine rejects
# keys defined in two bases, and a later override would not reach this dict):
#     model = dict(head=dict(num_classes=_base_.num_pids['market1501']))
# Knobs (docs/configs.md): `img_size` (from the dataset base config) and `pretrained` (a local
# ImageNet ViT-B/16 checkpoint, None = from scratch) reach the backbone through '${...}'.
pretrained = None
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(
        type='ReIDDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True),
    backbone=dict(
        type='ViTReID',
        arch='vit_base_patch16_224',
        img_size='${img_size}',
        stride_size=16,
        drop_path_rate=0.1,
        pretrained='${pretrained}'),
    neck=dict(type='TokenSelect', index=0),
    head=dict(
        type='BNNeckHead',
        in_channels=768,
        num_classes=None,  # placeholder: the number of training identities (see above)
        classifier=dict(type='LinearClassifier', init_std=0.001),
        loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
        loss_triplet=dict(type='TripletLoss', margin=0.3, hard_mining=True, loss_weight=1.0),
        triplet_feat='before_bn',
        test_feat='before_bn'),
    test_cfg=dict(flip=False))
