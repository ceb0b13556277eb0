# DRFormer, supervised on CUHK03-NP, labeled boxes (Table 2: 88.1 / 89.6).
_base_ = [
    '../_base_/datasets/reid_datasets.py',
    '../_base_/default_runtime.py',
    './_base_/drformer_vitb.py',
]
num_cams = 2  # SIE (eq. 8-9): one camera embedding per training camera
model = dict(
    backbones=dict(dino=dict(backbone=dict(sie_num_cams=num_cams)),
                   clip=dict(backbone=dict(sie_num_cams=num_cams))),
    head=dict(num_classes=_base_.num_pids['cuhk03np']))
train_dataloader = dict(
    dataset=dict(_base_.cuhk03np_train, subset='labeled', pipeline=_base_.drformer_train_pipeline, _delete_=True))
test_dataloader = [
    dict(_base_.test_loader,
         dataset=dict(_base_.cuhk03np_test, subset='labeled', pipeline=_base_.drformer_test_pipeline)),
]
