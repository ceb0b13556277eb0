# FusionReID on dukemtmc (256x128, stride 12) as the released code runs (official repository
# 924973292/FusionReID): kernel-1 LRUs (token sets of 128 and 210), one SEU per branch, the released
# LayerNorm placement (pre-norm MFU, LayerNorm on the keys only, final SEU LayerNorm), mean = std = 0.5
# for the ResNet too, and its schedule: warm-up from 5e-5 (0.01 x 5e-3) over 10 epochs, stepped per
# epoch, then cosine to 1e-5 until epoch 180. The released cosine counts from epoch 0 (its lr at epoch
# 10 is already 0.98 x 5e-3); this one starts at 5e-3 at epoch 10 (at most 2% of the base lr apart).
# Not reproduced: the released ResNet stem (no ReLU, 2x2 max-pool) and its fp16 autocast.
_base_ = ['./fusionreid_dukemtmc_256_s12.py']
model = dict(
    backbones=dict(cnn=dict(mean=(127.5, 127.5, 127.5), std=(127.5, 127.5, 127.5))),
    neck=dict(lru_mode='no_resize', htm=dict(share_seu=False, released_layer_norms=True)))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=10, end=180, T_max=170, eta_min=1e-5),
]
