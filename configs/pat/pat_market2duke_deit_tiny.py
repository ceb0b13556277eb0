# PAT, Table 4 row "DeiT-Tiny": PAT on a DeiT-Tiny backbone (timm 'deit_tiny_patch16_224', width 192),
# trained on Market-1501, tested on DukeMTMC-reID; everything else as pat_market2duke.py.
# ImageNet weights: a local DeiT-Tiny checkpoint in model.backbone.pretrained (DeiT files nest the
# weights under "model"; the loader unwraps them).
_base_ = ['./pat_market2duke.py']

model = dict(backbone=dict(arch='deit_tiny_patch16_224'), head=dict(in_channels=192))
