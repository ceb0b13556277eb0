# FusionReID cross-domain, Market-1501 -> DukeMTMC-reID (not in the paper): the 256x128 stride-12 model
# trained on Market-1501 and tested on DukeMTMC-reID. The camera embedding is off: Market's 6 learnt
# camera vectors say nothing about Duke's 8 cameras.
_base_ = ['./fusionreid_market1501_256_s12.py']
model = dict(backbones=dict(vit=dict(backbone=dict(sie_num_cams=0))))
test_dataloader = [dict(_base_.test_loader, dataset=dict(_base_.dukemtmc_test, pipeline=_base_.test_pipeline))]
