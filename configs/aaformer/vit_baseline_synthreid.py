# ViT baseline on SynthReID at the same budget as aaformer_synthreid.py: the same small ViT, data,
# augmentation, schedule and test protocol, [CLS] only (BNNeck, label-smoothed CE, batch-hard triplet
# margin 0.3, test feature after BN, Euclidean distance).
_base_ = ['./aaformer_synthreid.py']

model = dict(
    _delete_=True,
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor', mean=[127.5, 127.5, 127.5],
                           std=[127.5, 127.5, 127.5], bgr_to_rgb=True),
    backbone=dict(type='ViTReID', arch=dict(embed_dim=128, depth=4, num_heads=4), img_size=(128, 64),
                  patch_size=16, stride_size=16, drop_path_rate=0.1, pretrained=None),
    neck=dict(type='TokenSelect', index=0),
    head=dict(type='BNNeckHead', in_channels=128, num_classes=100,
              classifier=dict(type='LinearClassifier', init_std=0.001),
              loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
              loss_triplet=dict(type='TripletLoss', margin=0.3, hard_mining=True, loss_weight=1.0),
              triplet_feat='before_bn', test_feat='after_bn'),
    test_cfg=dict(flip=False))
