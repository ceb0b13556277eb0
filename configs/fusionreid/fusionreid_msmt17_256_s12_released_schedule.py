# FusionReID on MSMT17 (256x128, stride 12), the paper's model with the released schedule only:
# warm-up from 5e-5 (not the paper's 5e-4) over 10 epochs stepped per epoch, then cosine to 1e-5 until
# epoch 180 (see fusionreid_msmt17_256_s12_released.py for how it differs from the released scheduler).
_base_ = ['./fusionreid_msmt17_256_s12.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=10),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=10, end=180, T_max=170, eta_min=1e-5),
]
