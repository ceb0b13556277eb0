# Fig. 4, N = 1 learnable token per encoder: eq. 10 has no pair, so L_intra is off (the head logs it
# once); SIE stays on the single token.
_base_ = ['./drformer_market1501.py']
num_tokens = 1
model = dict(
    backbones=dict(dino=dict(backbone=dict(num_extra_tokens=num_tokens)),
                   clip=dict(backbone=dict(num_extra_tokens=num_tokens))),
    neck=dict(num_tokens=num_tokens))
