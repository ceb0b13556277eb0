# AAformer on CUHK03-NP labeled (Table II: 79.0 mAP / 80.3 R1).
_base_ = ['./_base_/aaformer_vit_b16.py']
model = dict(head=dict(num_classes=_base_.num_pids['cuhk03np']))
train_dataloader = dict(dataset=dict(_base_.cuhk03np_train, subset='labeled'))
test_dataloader = [dict(_base_.test_loader, dataset=dict(_base_.cuhk03np_test, subset='labeled'))]
