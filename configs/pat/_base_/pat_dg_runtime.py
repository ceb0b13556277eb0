# PAT training recipe for domain generalisation (Ni et al., ICCV 2023, Sec. 4.2):
# batch 64 = 16 ids x 4, resize 256x128, flip 0.5, pad 10 + random crop, local grayscale
# transformation (p 0.5);
# SGD momentum 0.9, lr 1e-3 (4e-4 when MSMT17 is a source), weight decay 1e-4, bias lr x2;
# 60 epochs: 10 of linear warm-up, then cosine decay. The memory bank is filled before epoch 1.
_base_ = [
    '../../_base_/datasets/reid_datasets.py',
    '../../_base_/schedules/sgd_warmup_cosine.py',
    '../../_base_/default_runtime.py',
]
custom_imports = dict(imports=['plugins.pat'], allow_failed_imports=False)

pat_train_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PadRandomCrop', padding=10),
    dict(type='LocalGrayscale', prob=0.5),
    dict(type='PackReIDInputs'),
]
pat_test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='PackReIDInputs'),
]

# test loaders of every target, by dataset (experiment configs pick theirs)
pat_test_sets = dict(
    market1501=dict(_base_.test_loader,
                    dataset=dict(_base_.market1501_test, pipeline=pat_test_pipeline)),
    dukemtmc=dict(_base_.test_loader,
                  dataset=dict(_base_.dukemtmc_test, pipeline=pat_test_pipeline)),
    msmt17=dict(_base_.test_loader, dataset=dict(_base_.msmt17_test, pipeline=pat_test_pipeline)),
    cuhk03np=dict(_base_.test_loader,
                  dataset=dict(_base_.cuhk03np_test, pipeline=pat_test_pipeline)),
)

# one no-grad pass over the training images (test pipeline) fills the memory bank (eq. 5, t = 0)
custom_hooks = [
    dict(type='PATMemoryBankHook', fill_pipeline=pat_test_pipeline, batch_size=128, num_workers=4),
]

# The schedule is the SGD base's (knobs max_epochs = 60, warmup_epochs = 10, base_lr = 1e-3: the
# paper's; warm-up from 0.01x, cosine to 0.002x, bias lr x2, as the released code).
# Cosine length after the warm-up: end - begin = 50 epochs. The released code's schedule (a cosine
# hard-coded to 120 epochs, lr still about half the base at epoch 60) is reproduced exactly by
# param_scheduler = [dict(type='ReleasedPATCosineLR')] (configs/pat/pat_market2duke_released.py).
