# AAformer cross-domain Market-1501 -> DukeMTMC-reID (not in the paper; the supervised recipe).
_base_ = ['./_base_/aaformer_vit_b16.py']
model = dict(head=dict(num_classes=_base_.num_pids['market1501']))
train_dataloader = dict(dataset=_base_.market1501_train)
test_dataloader = [dict(_base_.test_loader, dataset=_base_.dukemtmc_test)]
