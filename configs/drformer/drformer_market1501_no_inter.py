# Table 4 "intra only": L_inter off (lambda_1 = 0); SIE and the cosine term on.
_base_ = ['./drformer_market1501.py']
model = dict(head=dict(loss_inter=None))
