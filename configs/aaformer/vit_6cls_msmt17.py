# Table IV "ViT-baseline, 6*CLS": five more randomly initialised tokens next to [CLS], ordinary
# self-attention everywhere (they see and are seen by every token), the same six ID losses, two
# triplet losses and concatenated test feature as AAformer, MSMT17 (paper: 59.4 mAP / 80.2 R1).
_base_ = ['./aaformer_msmt17.py']
model = dict(backbone=dict(attn_layer=None))
