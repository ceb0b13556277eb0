# PAT as the released code trains it (liyuke65535/Part-Aware-Transformer, config/PAT.yml), every
# released behaviour switched on: the 'official' mask visibility, random sub-regions in training,
# plain label-smoothed CE (its PSD never runs), the bank filled over the identity-sampled training
# loader in training mode, no local grayscale transformation, and the released schedule (5-epoch
# warm-up from 0.01x, cosine hard-coded to 120 epochs, stepped per epoch). Market-1501 -> Duke.
_base_ = ['./pat_market2duke.py']

model = dict(
    part_attention=dict(visibility='official', random_subregions=True),
    head=dict(loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, _delete_=True)))
custom_hooks = [dict(type='PATMemoryBankHook', fill_with='training_loader')]
param_scheduler = [dict(type='ReleasedPATCosineLR', warmup_epochs=5, cosine_epochs=120,
                        warmup_factor=0.01, min_factor=0.002)]
train_dataloader = dict(dataset=dict(
    pipeline=[step for step in _base_.pat_train_pipeline if step['type'] != 'LocalGrayscale']))
