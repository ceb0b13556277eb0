# PAT, single-source DG (Table 1, source Market): train on Market-1501, test on every
# Table-1 target: DukeMTMC-reID, MSMT17, CUHK03-NP (detected).
_base_ = ['./pat_market2duke.py']

test_dataloader = [
    _base_.pat_test_sets['dukemtmc'],
    _base_.pat_test_sets['msmt17'],
    _base_.pat_test_sets['cuhk03np'],
]
