# Table 3 "+Transformer" = Table 4 first row: fusion transformer, no inter- and no intra-model
# regulariser. The paper's "intra off" also drops SIE (appendix Table 7, "w/o Intra-model").
_base_ = ['./drformer_market1501.py']
model = dict(
    backbones=dict(dino=dict(backbone=dict(sie_num_cams=0)), clip=dict(backbone=dict(sie_num_cams=0))),
    head=dict(loss_inter=None, loss_intra=None))
