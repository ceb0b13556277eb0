# AAformer on DukeMTMC-reID (Table II: 80.9 mAP / 90.1 R1).
_base_ = ['./_base_/aaformer_vit_b16.py']
model = dict(head=dict(num_classes=_base_.num_pids['dukemtmc']))
train_dataloader = dict(dataset=_base_.dukemtmc_train)
test_dataloader = [dict(_base_.test_loader, dataset=_base_.dukemtmc_test)]
