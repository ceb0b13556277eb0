# Table 4 baseline row "DeiT-Tiny": the ViT baseline (no part tokens, CSL or PSD) on a DeiT-Tiny
# backbone (timm 'deit_tiny_patch16_224', width 192); everything else as vit_baseline_market2duke.py.
_base_ = ['./vit_baseline_market2duke.py']

model = dict(backbone=dict(arch='deit_tiny_patch16_224'), head=dict(in_channels=192))
