# AAformer on Occluded-DukeMTMC (Table III: 58.2 mAP / 67.1 R1).
_base_ = ['./_base_/aaformer_vit_b16.py']
model = dict(head=dict(num_classes=_base_.num_pids['occluded_duke']))
train_dataloader = dict(dataset=_base_.occluded_duke_train)
test_dataloader = [dict(_base_.test_loader, dataset=_base_.occluded_duke_test)]
