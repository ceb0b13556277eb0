# AAformer on MSMT17 (Table II: 65.6 mAP / 84.4 R1).
_base_ = ['./_base_/aaformer_vit_b16.py']
model = dict(head=dict(num_classes=_base_.num_pids['msmt17']))
train_dataloader = dict(dataset=_base_.msmt17_train)
test_dataloader = [dict(_base_.test_loader, dataset=_base_.msmt17_test)]
