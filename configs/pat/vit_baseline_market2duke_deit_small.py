# Table 4 baseline row "DeiT-Small": the ViT baseline (no part tokens, CSL or PSD) on a DeiT-Small
# backbone (timm 'deit_small_patch16_224', width 384); everything else as vit_baseline_market2duke.py.
_base_ = ['./vit_baseline_market2duke.py']

model = dict(backbone=dict(arch='deit_small_patch16_224'), head=dict(in_channels=384))
