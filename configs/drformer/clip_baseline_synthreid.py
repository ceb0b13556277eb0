# Single-encoder baseline on SynthReID at drformer_synthreid.py's budget (same epochs, data, schedule):
# its CLIP-like encoder alone, ID + triplet on the [cls] token, BNNeck, pre-BN test feature.
_base_ = ['./drformer_synthreid.py']
norm = _base_.clip_norm
model = dict(
    _delete_=True,
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor', mean=norm['mean'], std=norm['std'], bgr_to_rgb=True),
    backbone=dict(type='CLIPViTReID', arch=_base_.synth_arch, img_size=_base_.synth_size, patch_size=16,
                  stride_size=16, use_proj=False,
                  drop_path_rate=0.0, pretrained=None),
    neck=dict(type='TokenSelect', index=0),
    head=dict(type='BNNeckHead', in_channels=_base_.synth_dim, num_classes=_base_.num_train_ids,
              classifier=dict(type='LinearClassifier', init_std=0.001),
              loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
              loss_triplet=dict(type='TripletLoss', margin=0.3, hard_mining=True, loss_weight=1.0),
              triplet_feat='before_bn', test_feat='before_bn'),
    test_cfg=dict(flip=False))
