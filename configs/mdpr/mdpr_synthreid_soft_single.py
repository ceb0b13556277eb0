# Table VIII's "f^Soft (Single)" on SynthReID: a network with the soft content branch alone (same
# backbone, settings and schedule as mdpr_synthreid.py; no fusion, no distillation).
_base_ = ['./mdpr_synthreid.py']
model = dict(branches=('soft', ), fusion=False, distillation=False)
