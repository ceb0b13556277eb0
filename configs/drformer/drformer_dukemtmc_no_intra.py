# Table 4 "inter only" = appendix Table 7 "w/o Intra-model" (Duke 83.0 / 91.0): the intra-model
# regulariser is SIE + the cosine term, so both go: no camera embedding, no L_intra.
_base_ = ['./drformer_dukemtmc.py']
model = dict(
    backbones=dict(dino=dict(backbone=dict(sie_num_cams=0)), clip=dict(backbone=dict(sie_num_cams=0))),
    head=dict(loss_intra=None))
