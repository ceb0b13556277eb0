# PAT, Table 4 row "DeiT-Small": PAT on a DeiT-Small backbone (timm 'deit_small_patch16_224', width 384),
# trained on Market-1501, tested on DukeMTMC-reID; everything else as pat_market2duke.py.
# ImageNet weights: a local DeiT-Small checkpoint in model.backbone.pretrained (DeiT files nest the
# weights under "model"; the loader unwraps them).
_base_ = ['./pat_market2duke.py']

model = dict(backbone=dict(arch='deit_small_patch16_224'), head=dict(in_channels=384))
