# ViT baseline on SynthReID (the Table 5 baseline of PAT at demo size): the same small ViT, data and
# schedule as pat_synthreid.py, without part tokens, CSL or PSD.
_base_ = ['./pat_synthreid.py']

custom_hooks = []  # no memory bank
model = dict(
    _delete_=True,
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor', mean=[127.5, 127.5, 127.5],
                           std=[127.5, 127.5, 127.5], bgr_to_rgb=True),
    backbone=dict(type='ViTReID', arch=_base_.vit_arch,
                  img_size='${img_size}', patch_size=_base_.patch, stride_size=_base_.patch,
                  drop_path_rate=0.1, frozen_patch_embed=False, pretrained='${pretrained}'),
    neck=dict(type='TokenSelect', index=0),
    head=dict(type='BNNeckHead', in_channels=_base_.vit_arch['embed_dim'],
              num_classes=_base_.num_train_ids,
              classifier=dict(type='LinearClassifier', init_std=0.001),
              loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
              loss_triplet=dict(type='TripletLoss', margin=None, hard_mining=True,
                                loss_weight=1.0),
              triplet_feat='before_bn', test_feat='before_bn'),
    test_cfg=dict(flip=True))
