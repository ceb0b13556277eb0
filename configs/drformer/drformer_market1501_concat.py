# Table 3 / Table 6 "w/o fusion module" (+Concat): the learnable tokens of each encoder averaged and
# concatenated, no fusion transformer; both regularisers on (eq. 23 still duplicates each half).
_base_ = ['./drformer_market1501.py']
model = dict(neck=dict(fusion='concat'))
