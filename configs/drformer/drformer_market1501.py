# DRFormer, supervised on Market-1501 (Table 2: 92.9 mAP / 97.0 R-1).
_base_ = [
    '../_base_/datasets/reid_datasets.py',
    '../_base_/default_runtime.py',
    './_base_/drformer_vitb.py',
]
num_cams = 6  # SIE (eq. 8-9): one camera embedding per training camera
model = dict(
    backbones=dict(dino=dict(backbone=dict(sie_num_cams=num_cams)),
                   clip=dict(backbone=dict(sie_num_cams=num_cams))),
    head=dict(num_classes=_base_.num_pids['market1501']))
train_dataloader = dict(
    dataset=dict(_base_.market1501_train, pipeline=_base_.drformer_train_pipeline, _delete_=True))
test_dataloader = [
    dict(_base_.test_loader, dataset=dict(_base_.market1501_test, pipeline=_base_.drformer_test_pipeline)),
]
