# PAT, single-source DG (Table 1, source Duke): train on DukeMTMC-reID, test on every
# Table-1 target: Market-1501, MSMT17, CUHK03-NP (detected).
_base_ = ['./pat_duke2market.py']

test_dataloader = [
    _base_.pat_test_sets['market1501'],
    _base_.pat_test_sets['msmt17'],
    _base_.pat_test_sets['cuhk03np'],
]
