# Table IV "+MGN, PT": [PART]s with fixed horizontal stripes as their patch sets (granularities {2, 3}:
# halves and thirds of the 16 grid rows, MGN's partition), MSMT17 (paper: 63.4 mAP / 82.5 R1).
# PCB's six stripes need granularities [6] (copy the model dict, see the base config).
_base_ = ['./aaformer_msmt17.py']
model = dict(backbone=dict(attn_layer=dict(assignment='stripes', grid_size=(16, 8))))
