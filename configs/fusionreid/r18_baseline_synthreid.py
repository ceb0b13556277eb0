# ResNet baseline for fusionreid_synthreid.py at the same budget: FusionReID's CNN branch alone (the
# same quarter-width ResNet-18, GeM, BNNeck, label-smoothed CE + soft-margin triplet), same data, optimiser,
# schedule and epochs; test feature = the pre-BN GeM feature, L2-normalised by the cosine metric.
_base_ = ['./fusionreid_synthreid.py']
model = dict(
    _delete_=True,
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor', mean=_base_.imagenet_mean,
                           std=_base_.imagenet_std, bgr_to_rgb=True),
    backbone=_base_.cnn_cfg,
    neck=dict(type='GeM', p=3.0, learnable=True),
    head=dict(type='BNNeckHead', in_channels=128, num_classes=_base_.num_train_ids,
              classifier=dict(type='LinearClassifier', init_std=0.001),
              loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
              loss_triplet=dict(type='TripletLoss', margin=None, hard_mining=True, squared=False,
                                loss_weight=1.0),
              triplet_feat='before_bn', test_feat='before_bn'),
    test_cfg=dict(flip=False))
