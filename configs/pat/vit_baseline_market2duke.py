# Table 5 baseline of PAT: ViT-B/16 (TransReID without SIE / JPM), no part tokens, no CSL, no PSD:
# label-smoothed CE on BN(cls) + soft-margin batch-hard triplet on cls, same data and schedule as
# pat_market2duke.py (train Market-1501, test DukeMTMC-reID).
_base_ = ['../_base_/models/vit_base.py', './_base_/pat_dg_runtime.py']

custom_hooks = []  # no memory bank
model = dict(
    backbone=dict(frozen_patch_embed=True, drop_path_rate=0.1),
    head=dict(num_classes=_base_.num_pids['market1501'],
              loss_triplet=dict(type='TripletLoss', margin=None, hard_mining=True, loss_weight=1.0),
              test_feat='before_bn'))
train_dataloader = dict(
    dataset=dict(_base_.market1501_train, pipeline=_base_.pat_train_pipeline, _delete_=True))
test_dataloader = [_base_.pat_test_sets['dukemtmc']]
