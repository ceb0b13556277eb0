# Table VIII's "f^Hard (Single)" on SynthReID: a network with the hard content branch alone (same
# backbone, settings and schedule as mdpr_synthreid.py; no fusion, no distillation).
_base_ = ['./mdpr_synthreid.py']
model = dict(branches=('hard', ), fusion=False, distillation=False)
