# PAT, single-source DG (Table 1): train on Market-1501, test on DukeMTMC-reID.
_base_ = ['./_base_/pat_vit_b16.py', './_base_/pat_dg_runtime.py']

model = dict(head=dict(num_classes=_base_.num_pids['market1501']))
train_dataloader = dict(
    dataset=dict(_base_.market1501_train, pipeline=_base_.pat_train_pipeline, _delete_=True))
test_dataloader = [
    _base_.pat_test_sets['dukemtmc'],
]
