# AAformer on CUHK03-NP detected (Table II: 77.2 mAP / 78.1 R1).
_base_ = ['./_base_/aaformer_vit_b16.py']
model = dict(head=dict(num_classes=_base_.num_pids['cuhk03np']))
train_dataloader = dict(dataset=dict(_base_.cuhk03np_train, subset='detected'))
test_dataloader = [dict(_base_.test_loader, dataset=dict(_base_.cuhk03np_test, subset='detected'))]
