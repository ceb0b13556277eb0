# Appendix Table 7 "+SIE" (Duke 84.2 / 91.5): the camera embedding on the first learnable token,
# without the cosine term of eq. 10-12.
_base_ = ['./drformer_dukemtmc.py']
model = dict(head=dict(loss_intra=None))
