# Pipelines and dataset entries for every supported dataset, to be composed by experiment
# configs (``_base_.market1501_train``, ``_base_.dukemtmc_test``, ...).
# Knobs (docs/configs.md): `data_root` fills the data_root of every dataset that leaves it unset
# (None: the REID_DATA_ROOT environment variable if set, else ``data/`` in the repo; the tools'
# --data-root sets it); `img_size` reaches the pipelines through '${img_size}'.
data_root = None
img_size = (256, 128)  # (H, W)

train_pipeline = [
    dict(type='LoadReIDImage'),  # on_error='skip': another item for an unreadable file (logged)
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PadRandomCrop', size='${img_size}', padding=10),
    dict(type='RandomErasing', prob=0.5),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImage'),
    dict(type='ReIDResize', size='${img_size}'),
    dict(type='PackReIDInputs'),
]

market1501_train = dict(type='Market1501', data_root=data_root, split='train', pipeline=train_pipeline)
market1501_test = dict(type='Market1501', data_root=data_root, split='test', pipeline=test_pipeline)
dukemtmc_train = dict(type='DukeMTMCreID', data_root=data_root, split='train', pipeline=train_pipeline)
dukemtmc_test = dict(type='DukeMTMCreID', data_root=data_root, split='test', pipeline=test_pipeline)
msmt17_train = dict(type='MSMT17', data_root=data_root, split='train', pipeline=train_pipeline)
msmt17_test = dict(type='MSMT17', data_root=data_root, split='test', pipeline=test_pipeline)
cuhk03np_train = dict(type='CUHK03NP', subset='detected', data_root=data_root, split='train',
                      pipeline=train_pipeline)
cuhk03np_test = dict(type='CUHK03NP', subset='detected', data_root=data_root, split='test',
                     pipeline=test_pipeline)
occluded_duke_train = dict(type='OccludedDuke', data_root=data_root, split='train',
                           pipeline=train_pipeline)
occluded_duke_test = dict(type='OccludedDuke', data_root=data_root, split='test',
                          pipeline=test_pipeline)

# number of training identities (classifier size) of each dataset's train split
num_pids = dict(market1501=751, dukemtmc=702, msmt17=1041, cuhk03np=767, occluded_duke=702)

# loader templates: P identities x K images per batch
num_instances = 4
train_batch_size = 64
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=4,
    # persistent workers would keep their RNG across epochs and break bit-exact resume
    persistent_workers=False,
    sampler=dict(type='PKSampler', num_instances=num_instances, batch_size=train_batch_size),
    dataset=market1501_train,
)
test_loader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_dataloader = [dict(test_loader, dataset=dukemtmc_test)]
test_evaluator = dict(type='ReIDMetric', metric='cosine')
