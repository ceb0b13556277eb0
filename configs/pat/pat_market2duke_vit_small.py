# PAT, Table 4 row "ViT-Small": PAT on a ViT-Small backbone (timm 'vit_small_patch16_224', width 384),
# trained on Market-1501, tested on DukeMTMC-reID; everything else as pat_market2duke.py.
# ImageNet weights: a local ViT-Small checkpoint in model.backbone.pretrained (DeiT files nest the
# weights under "model"; the loader unwraps them).
_base_ = ['./pat_market2duke.py']

model = dict(backbone=dict(arch='vit_small_patch16_224'), head=dict(in_channels=384))
