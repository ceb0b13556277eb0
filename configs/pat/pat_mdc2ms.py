# PAT, multi-source DG leave-one-out (Table 3): train on Market-1501 + DukeMTMC-reID + CUHK03-NP,
# test on MSMT17.
# Person ids and cameras of the sources are kept apart by MultiSourceDataset.
_base_ = ['./_base_/pat_vit_b16.py', './_base_/pat_dg_runtime.py']

sources = [_base_.market1501_train, _base_.dukemtmc_train, _base_.cuhk03np_train]
model = dict(head=dict(num_classes=(_base_.num_pids['market1501']
                                     + _base_.num_pids['dukemtmc']
                                     + _base_.num_pids['cuhk03np'])))
train_dataloader = dict(
    dataset=dict(type='MultiSourceDataset', datasets=sources, pipeline=_base_.pat_train_pipeline,
                 _delete_=True))
test_dataloader = [
    _base_.pat_test_sets['msmt17'],
]
