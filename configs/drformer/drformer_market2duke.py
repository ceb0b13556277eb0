# DRFormer, cross-domain: train on Market-1501, test on DukeMTMC-reID (not in the paper).
# SIE off in both encoders: camera embeddings learnt on Market's 6 cameras mean nothing for Duke's 8
# (and Duke's cameras 7-8 have none); the cosine term of L_intra stays (Table 7's "+Cosine" without SIE).
_base_ = [
    '../_base_/datasets/reid_datasets.py',
    '../_base_/default_runtime.py',
    './_base_/drformer_vitb.py',
]
model = dict(
    backbones=dict(dino=dict(backbone=dict(sie_num_cams=0)), clip=dict(backbone=dict(sie_num_cams=0))),
    head=dict(num_classes=_base_.num_pids['market1501']))
train_dataloader = dict(
    dataset=dict(_base_.market1501_train, pipeline=_base_.drformer_train_pipeline, _delete_=True))
test_dataloader = [
    dict(_base_.test_loader, dataset=dict(_base_.dukemtmc_test, pipeline=_base_.drformer_test_pipeline)),
]
