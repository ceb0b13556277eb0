# Table 4 baseline row "DeiT-Base": the ViT baseline (no part tokens, CSL or PSD) on a DeiT-Base
# backbone (timm 'deit_base_patch16_224', width 768); everything else as vit_baseline_market2duke.py.
_base_ = ['./vit_baseline_market2duke.py']

model = dict(backbone=dict(arch='deit_base_patch16_224'), head=dict(in_channels=768))
