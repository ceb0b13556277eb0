"""PATMemoryBankHook fills the bank from the training set (eq. 5, t = 0), indexed by sample_idx."""
import gc
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

import plugins.pat  # noqa: F401
from plugins.pat.hooks import PATMemoryBankHook
from reidengine.registry import DATASETS, HOOKS, MODELS
from reidengine.utils import register_all_modules

gc.freeze()  # mmengine's dataset serialisation runs gc.collect(): keep it fast

IMG = (32, 16)  # 8 x 4 grid of 4x4 patches
FILL_PIPELINE = [dict(type='LoadReIDImage'), dict(type='PackReIDInputs')]
# a train pipeline that the fill pass must NOT use: it mirrors every image
TRAIN_PIPELINE = [dict(type='LoadReIDImage'), dict(type='RandomFlip', prob=1.0),
                  dict(type='PackReIDInputs')]


def write_images(folder, names, seed):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for name in names:
        cv2.imwrite(str(folder / name), rng.integers(0, 256, (*IMG, 3), dtype=np.uint8))


@pytest.fixture()
def train_sets(tmp_path):
    market = ['0002_c1s1_000451_03.png', '0002_c2s1_000301_01.png', '0007_c3s3_075694_02.png',
              '0011_c6s4_002202_01.png', '0011_c5s1_000001_00.png']
    duke = ['0001_c2_f0046182.png', '0001_c5_f0051781.png', '0005_c8_f0000123.png']
    write_images(tmp_path / 'market' / 'bounding_box_train', market, 0)
    write_images(tmp_path / 'duke' / 'bounding_box_train', duke, 1)
    return (dict(type='Market1501', data_root=str(tmp_path / 'market'), dataset_dir=''),
            dict(type='DukeMTMCreID', data_root=str(tmp_path / 'duke'), dataset_dir=''))


def build_model():
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='PATModel',
        data_preprocessor=dict(type='ReIDDataPreprocessor', mean=[127.5] * 3, std=[127.5] * 3,
                               bgr_to_rgb=True),
        backbone=dict(type='ViTReID', arch=dict(embed_dim=32, depth=1, num_heads=2),
                      img_size=IMG, patch_size=4, stride_size=4),
        part_attention=dict(random_subregions=True),  # must be off in the (eval-mode) fill pass
        head=dict(type='PATHead', in_channels=32, num_classes=5,
                  csl_loss=dict(type='CrossIDSimilarityLoss', k=2))))


def direct_part_features(model, path):
    """The part tokens of one image, read and preprocessed without the dataset machinery."""
    img = torch.from_numpy(cv2.imread(path)).permute(2, 0, 1).contiguous()
    model.eval()
    inputs = model.data_preprocessor(dict(inputs=[img]), False)['inputs']
    return model.part_features(inputs)[0]  # (P, D)


def fake_runner(model, dataset, iteration=0):
    return SimpleNamespace(model=model, train_dataloader=SimpleNamespace(dataset=dataset),
                           iter=iteration, seed=0)


@pytest.mark.parametrize('multi_source', [False, True])
def test_fill_writes_every_entry_in_dataset_order(train_sets, multi_source):
    register_all_modules()
    if multi_source:
        dataset = DATASETS.build(dict(type='MultiSourceDataset', datasets=list(train_sets),
                                      pipeline=TRAIN_PIPELINE))
    else:
        dataset = DATASETS.build(dict(train_sets[0], pipeline=TRAIN_PIPELINE))
    model = build_model().train()
    hook = HOOKS.build(dict(type='PATMemoryBankHook', fill_pipeline=FILL_PIPELINE, batch_size=3,
                            num_workers=0))
    rng_state = torch.get_rng_state()
    hook.before_train(fake_runner(model, dataset))
    assert torch.equal(torch.get_rng_state(), rng_state)  # the fill leaves training's RNG alone
    bank = model.memory_bank
    assert bank.is_initialized and bank.num_samples == len(dataset) == (8 if multi_source else 5)
    assert model.training  # restored after the eval-mode pass
    for i in range(len(dataset)):
        info = dataset.get_data_info(i)
        assert int(bank.pids[i]) == info['pid']
        expected = direct_part_features(model, info['img_path'])
        assert torch.allclose(bank.features[:, i], expected, atol=1e-5), i
    model.train()


def test_resumed_bank_is_kept_and_uninitialised_bank_is_filled(train_sets):
    register_all_modules()
    dataset = DATASETS.build(dict(train_sets[0], pipeline=TRAIN_PIPELINE))
    model = build_model()
    hook = PATMemoryBankHook(FILL_PIPELINE, batch_size=4, num_workers=0)
    hook.before_train(fake_runner(model, dataset))
    filled = model.memory_bank.features.clone()

    # resumed at iteration 7 with an initialised bank of the right size: kept as it is
    model.memory_bank.features.mul_(2)
    hook.before_train(fake_runner(model, dataset, iteration=7))
    assert torch.equal(model.memory_bank.features, 2 * filled)

    # resumed from a checkpoint without a bank: filled
    model.memory_bank.resize(len(dataset))
    hook.before_train(fake_runner(model, dataset, iteration=7))
    assert model.memory_bank.is_initialized
    assert torch.allclose(model.memory_bank.features, filled, atol=1e-6)

    # a new run (iteration 0) always refills, even with a bank loaded from a checkpoint
    model.memory_bank.features.zero_()
    hook.before_train(fake_runner(model, dataset))
    assert torch.allclose(model.memory_bank.features, filled, atol=1e-6)


def test_bad_model_or_pipeline_raises(train_sets):
    register_all_modules()
    with pytest.raises(ValueError, match='fill_pipeline is empty'):
        PATMemoryBankHook([])
    dataset = DATASETS.build(dict(train_sets[0], pipeline=TRAIN_PIPELINE))
    hook = PATMemoryBankHook(FILL_PIPELINE, num_workers=0)
    with pytest.raises(TypeError, match='expected a PATModel'):
        hook.before_train(fake_runner(torch.nn.Linear(2, 2), dataset))


class _ListLoader:
    """A training loader stand-in yielding the given index batches of ``dataset`` (train pipeline)."""

    def __init__(self, dataset, batches):
        self.dataset, self.batches = dataset, batches

    def __iter__(self):
        from mmengine.dataset import pseudo_collate
        for batch in self.batches:
            yield pseudo_collate([self.dataset[i] for i in batch])


def test_released_fill_uses_the_training_loader_and_adds_left_out_images_when_first_seen(train_sets):
    """fill_with='training_loader': training mode, training pipeline (here: mirrored images), a
    repeated image momentum-updated, images the sampler left out empty until first seen."""
    register_all_modules()
    dataset = DATASETS.build(dict(train_sets[0], pipeline=TRAIN_PIPELINE))
    model = build_model()
    model.backbone.blocks[0].drop_path1.drop_prob = 0.0  # deterministic in training mode
    model.backbone.blocks[0].drop_path2.drop_prob = 0.0
    model.part_mask.random_subregions = False
    runner = SimpleNamespace(model=model, train_dataloader=_ListLoader(dataset, [[0, 2, 0], [3]]),
                             iter=0, seed=0)
    runner.train_dataloader.dataset = dataset
    hook = HOOKS.build(dict(type='PATMemoryBankHook', fill_with='training_loader'))
    model.eval()
    rng_state = torch.get_rng_state()
    hook.before_train(runner)
    assert torch.equal(torch.get_rng_state(), rng_state) and not model.training
    bank = model.memory_bank

    def mirrored(i):
        img = torch.from_numpy(cv2.imread(dataset.get_data_info(i)['img_path'])).flip(-2)
        inputs = model.data_preprocessor(dict(inputs=[img.permute(2, 0, 1).contiguous()]), False)
        return model.part_features(inputs['inputs'])[0]

    assert bank.is_initialized and bank.filled.tolist() == [True, False, True, True, False]
    for i in (0, 2, 3):  # image 0 seen twice: 0.9 f + 0.1 f = f
        assert torch.allclose(bank.features[:, i], mirrored(i), atol=1e-5), i
    assert not torch.allclose(mirrored(0), direct_part_features(model, dataset.get_data_info(0)['img_path']))
    # in training, image 1 (left out by the fill) is written directly when first seen
    feats = torch.randn(1, 3, 32)
    bank.update(feats, torch.tensor([1]), torch.tensor([0]), gather=False)
    assert torch.equal(bank.features[:, 1], feats[0]) and bank.filled[1]
    bank.update(2 * feats, torch.tensor([1]), torch.tensor([0]), gather=False)
    assert torch.allclose(bank.features[:, 1], 1.1 * feats[0])  # then momentum


def test_csl_leaves_unfilled_entries_out():
    from plugins.pat.losses.csl import CrossIDSimilarityLoss
    torch.manual_seed(0)
    loss = CrossIDSimilarityLoss(k=1)
    feats, bank = torch.randn(1, 1, 4), torch.randn(1, 4, 4)
    bank[0, 3] = feats[0, 0]  # the nearest entry, but not filled
    valid = torch.tensor([True, True, True, False])
    value, neighbours = loss(feats, bank, torch.tensor([0]), valid=valid)
    logits = -0.02 * ((feats[0, 0] - bank[0, 1:3]) ** 2).sum(-1)  # entries 1, 2 (0 is own)
    expected = torch.logsumexp(logits, 0) - logits.max()
    assert torch.allclose(value, expected) and int(neighbours[0, 0, 0]) in (1, 2)
    with pytest.raises(ValueError, match='filled entries'):
        CrossIDSimilarityLoss(k=3)(feats, bank, torch.tensor([0]), valid=valid)
