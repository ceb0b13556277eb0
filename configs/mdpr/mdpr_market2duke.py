# MDPR cross-domain, Market-1501 -> DukeMTMC-reID (not in the paper): the Market-1501 recipe,
# tested on DukeMTMC-reID (and on Market-1501 itself for reference).
_base_ = ['./mdpr_market1501.py']

test_dataloader = [
    dict(_base_.test_loader, dataset=dict(_base_.dukemtmc_test, pipeline=_base_.test_pipeline)),
    dict(_base_.test_loader, dataset=dict(_base_.market1501_test, pipeline=_base_.test_pipeline)),
]
