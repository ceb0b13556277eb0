# Single-encoder baseline on SynthReID at drformer_synthreid.py's budget (same epochs, data, schedule):
# its DINOv2-like encoder alone, ID + triplet on the [cls] token, BNNeck, pre-BN test feature.
_base_ = ['./drformer_synthreid.py']
norm = _base_.dino_norm
model = dict(
    _delete_=True,
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor', mean=norm['mean'], std=norm['std'], bgr_to_rgb=True),
    backbone=dict(type='DINOv2ReID', arch=dict(_base_.synth_arch, init_values=None), img_size=_base_.synth_dino_size,
                  patch_size=14, stride_size=14,
                  drop_path_rate=0.0, pretrained=None),
    neck=dict(type='TokenSelect', index=0),
    head=dict(type='BNNeckHead', in_channels=_base_.synth_dim, num_classes=_base_.num_train_ids,
              classifier=dict(type='LinearClassifier', init_std=0.001),
              loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
              loss_triplet=dict(type='TripletLoss', margin=0.3, hard_mining=True, loss_weight=1.0),
              triplet_feat='before_bn', test_feat='before_bn'),
    test_cfg=dict(flip=False))
# the encoder's own input size: resize straight to 126x62 in the pipelines
train_dataloader = dict(dataset=dict(pipeline=[
    dict(t, size=_base_.synth_dino_size) if t['type'] == 'ReIDResize' else t for t in _base_.train_pipeline]))
test_dataloader = [
    dict(loader, dataset=dict(loader['dataset'], pipeline=[
        dict(t, size=_base_.synth_dino_size) if t['type'] == 'ReIDResize' else t for t in _base_.test_pipeline]))
    for loader in _base_.test_dataloader]
