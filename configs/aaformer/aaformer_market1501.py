# AAformer on Market-1501 (Table II: 88.0 mAP / 95.4 R1).
_base_ = ['./_base_/aaformer_vit_b16.py']
model = dict(head=dict(num_classes=_base_.num_pids['market1501']))
train_dataloader = dict(dataset=_base_.market1501_train)
test_dataloader = [dict(_base_.test_loader, dataset=_base_.market1501_test)]
