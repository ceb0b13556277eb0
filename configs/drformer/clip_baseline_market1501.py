# Single-encoder baseline on Market-1501: the CLIP ViT-B/16 image encoder
# (Table 2 / 5 baseline: Market 86.4 / 93.3, MSMT17 66.1 / 84.4),
# fine-tuned with ID + triplet on its [cls] token (768-d, before the projection), BNNeck, test feature
# before BN (the cosine metric normalises it). Same data, recipe and schedule as drformer_market1501.py; no SIE,
# no learnable tokens. Other datasets: change the two dataset entries and model.head.num_classes.
_base_ = [
    '../_base_/datasets/reid_datasets.py',
    '../_base_/default_runtime.py',
    './_base_/drformer_vitb.py',
]
img_size = (256, 128)
norm = _base_.clip_norm
model = dict(
    _delete_=True,
    type='ReIDModel',
    data_preprocessor=dict(type='ReIDDataPreprocessor', mean=norm['mean'], std=norm['std'], bgr_to_rgb=True),
    backbone=dict(type='CLIPViTReID', arch='ViT-B-16', img_size=(256, 128), patch_size=16, stride_size=16,
                  use_proj=False,
                  drop_path_rate=0.0, grad_checkpointing=False, pretrained=_base_.clip_pretrained),
    neck=dict(type='TokenSelect', index=0),
    head=dict(type='BNNeckHead', in_channels=768, num_classes=_base_.num_pids['market1501'],
              classifier=dict(type='LinearClassifier', init_std=0.001),
              loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
              loss_triplet=dict(type='TripletLoss', margin=0.3, hard_mining=True, loss_weight=1.0),
              triplet_feat='before_bn', test_feat='before_bn'),
    test_cfg=dict(flip=False))
train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PadRandomCrop', padding=10),
    dict(type='RandomErasing', prob=0.5, area_range=(0.02, 1 / 3), min_aspect=0.3, fill='normal',
         mean=norm['mean'], std=norm['std'], max_attempts=10, log_aspect=True),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size=img_size),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(_base_.market1501_train, pipeline=train_pipeline, _delete_=True))
test_dataloader = [dict(_base_.test_loader, dataset=dict(_base_.market1501_test, pipeline=test_pipeline))]
