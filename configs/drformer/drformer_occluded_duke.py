# DRFormer, supervised on Occluded-Duke (Table 2: 65.3 / 72.1).
_base_ = [
    '../_base_/datasets/reid_datasets.py',
    '../_base_/default_runtime.py',
    './_base_/drformer_vitb.py',
]
num_cams = 8  # SIE (eq. 8-9): one camera embedding per training camera
model = dict(
    backbones=dict(dino=dict(backbone=dict(sie_num_cams=num_cams)),
                   clip=dict(backbone=dict(sie_num_cams=num_cams))),
    head=dict(num_classes=_base_.num_pids['occluded_duke']))
train_dataloader = dict(
    dataset=dict(_base_.occluded_duke_train, pipeline=_base_.drformer_train_pipeline, _delete_=True))
test_dataloader = [
    dict(_base_.test_loader, dataset=dict(_base_.occluded_duke_test, pipeline=_base_.drformer_test_pipeline)),
]
