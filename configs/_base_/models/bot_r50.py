# BoT baseline (Luo et al. 2019, "Bag of Tricks and a Strong Baseline for Deep Person Re-ID"):
# ResNet-50 with last stride 1, global average pooling, BNNeck, label-smoothed CE (eps 0.1) on the
# BN feature through a bias-free classifier, batch-hard triplet (margin 0.3) on the pooled feature;
# test feature after BN, compared with the cosine distance (set in the evaluator).
#
# num_classes: left None here, to be set by the experiment config from the dataset config's
# `num_pids` (a variable here could not be overridden by the dataset base config: mmengine rejects
# keys defined in two bases, and a later override would not reach this dict):
#     model = dict(head=dict(num_classes=_base_.num_pids['market1501']))
# pretrained: a knob (docs/configs.md): a local torchvision / IBN-Net ResNet checkpoint, None = from
# scratch; `pretrained = '/path'` in a child config or `--cfg-options pretrained=/path`.
pretrained = None
model = dict(
    type='ReIDModel',
    data_preprocessor=dict(
        type='ReIDDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        channels_last=True),  # NHWC batches: faster CPU convolutions (same numbers)
    backbone=dict(type='ResNetReID', depth=50, last_stride=1, pretrained='${pretrained}'),
    neck=dict(type='GlobalAvgPool'),  # or dict(type='GeM', p=3.0, learnable=True)
    head=dict(
        type='BNNeckHead',
        in_channels=2048,
        num_classes=None,  # placeholder: the number of training identities (see above)
        classifier=dict(type='LinearClassifier', init_std=0.001),
        loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
        loss_triplet=dict(type='TripletLoss', margin=0.3, hard_mining=True, loss_weight=1.0),
        triplet_feat='before_bn',
        test_feat='after_bn'),
    test_cfg=dict(flip=False))
