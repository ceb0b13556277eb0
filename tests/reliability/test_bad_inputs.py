"""Bad input gets a clear error naming the file, key or value at fault, before any training state
is overwritten (reliability issue, "Bad input and faults").

Each case resumes (``tools/train.py --resume``) a work dir holding checkpoints of a finished tiny
run, with one thing broken, and checks the message and that the checkpoints and pointer are
byte-identical and untouched afterwards.
"""
import itertools
import shutil

import pytest
import torch
from reliability_utils import checkpoint_files, run_tool, tiny_vit_config, write_market

from reidengine.datasets import DatasetNotFoundError
from reidengine.engine.hooks import NonFiniteLossError
from reidengine.engine.runner import CheckpointLoadError

_names = itertools.count()


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    """A finished 2-epoch run: (data root, config, work dir) kept read-only by the tests."""
    root = tmp_path_factory.mktemp('trained')
    data = write_market(root / 'data')
    cfg = tiny_vit_config(root / 'tiny_vit.py', data, max_epochs=2)
    run_tool('train', cfg, '--work-dir', root / 'work', '--no-test')
    return data, cfg, root / 'work'


@pytest.fixture
def case(trained, tmp_path):
    """A private copy of the trained run: (data root, config path, work dir)."""
    data, _, work = trained
    shutil.copytree(data, tmp_path / 'data')
    shutil.copytree(work, tmp_path / 'work')
    cfg = tiny_vit_config(tmp_path / 'tiny_vit.py', tmp_path / 'data', max_epochs=3)
    return tmp_path / 'data', cfg, tmp_path / 'work'


def resume(cfg, work, *options):
    args = ['--cfg-options', f'experiment_name=bad{next(_names)}', *options] if options else \
        ['--cfg-options', f'experiment_name=bad{next(_names)}']
    run_tool('train', cfg, '--work-dir', work, '--resume', '--no-test', *args)


def assert_fails_untouched(work, error, match, run):
    before = checkpoint_files(work)
    with pytest.raises(error, match='(?s)' + match):
        run()
    assert checkpoint_files(work) == before


def test_missing_dataset_folder(case, tmp_path):
    _, cfg, work = case
    missing = tmp_path / 'no_such_root'
    assert_fails_untouched(
        work, DatasetNotFoundError, rf'Market1501: dataset folder not found.*{missing}',
        lambda: resume(cfg, work, f'train_dataloader.dataset.data_root={missing}'))


def test_malformed_file_name_and_the_skip_option(case):
    data, cfg, work = case
    bad = data / 'market1501' / 'bounding_box_train' / 'img_0003.png'
    shutil.copy(next((bad.parent).glob('*.png')), bad)
    assert_fails_untouched(work, ValueError, rf'malformed file name {bad}: expected .*skip_malformed',
                           lambda: resume(cfg, work))
    resume(cfg, work, 'train_dataloader.dataset.skip_malformed=True')  # trains epoch 3
    assert (work / 'epoch_3.pth').exists()


def test_truncated_image(case):
    data, cfg, work = case
    img = sorted((data / 'market1501' / 'bounding_box_train').glob('*.png'))[5]
    img.write_bytes(img.read_bytes()[:40])
    assert_fails_untouched(work, IOError, rf'cannot read image {img}', lambda: resume(cfg, work))


def test_unreadable_image(case):
    data, cfg, work = case
    img = sorted((data / 'market1501' / 'bounding_box_train').glob('*.png'))[0]
    img.write_bytes(b'')
    assert_fails_untouched(work, IOError, rf'cannot read image {img}', lambda: resume(cfg, work))


def test_split_without_usable_images(case):
    data, cfg, work = case
    folder = data / 'market1501' / 'bounding_box_train'
    for img in folder.glob('*.png'):  # every identity becomes junk (-1)
        img.rename(folder / ('-1' + img.name[4:]))
    assert_fails_untouched(work, ValueError, r'the train split of .*market1501 has no usable images',
                           lambda: resume(cfg, work))


def test_more_identities_than_the_classifier_has(case):
    _, cfg, work = case
    assert_fails_untouched(work, ValueError, r'model\.head\.num_classes=4, but the training set '
                                             r'\(market1501\) has 8 identities',
                           lambda: resume(cfg, work, 'model.head.num_classes=4'))


def test_pk_batch_the_dataset_cannot_fill(case):
    _, cfg, work = case
    assert_fails_untouched(
        work, ValueError, r'PKSampler: the dataset has 8 identities, fewer than P=16',
        lambda: resume(cfg, work, 'train_dataloader.sampler.batch_size=32',
                       'train_dataloader.batch_size=32'))


def test_camera_id_beyond_the_sie_table(trained, tmp_path):
    data, _, _ = trained
    cfg = tiny_vit_config(tmp_path / 'sie.py', data, max_epochs=2)
    work = tmp_path / 'work'
    with pytest.raises(ValueError, match=r'camera ids must be in \[0, 1\) \(sie_num_cams\), got'):
        run_tool('train', cfg, '--work-dir', work, '--no-test', '--cfg-options',
                 'model.backbone.sie_num_cams=1')
    assert not list(work.glob('*.pth'))


def test_config_key_that_no_component_accepts(case):
    _, cfg, work = case
    assert_fails_untouched(work, TypeError, r'ViTReID.*unexpected keyword argument .bogus_key.',
                           lambda: resume(cfg, work, 'model.backbone.bogus_key=1'))
    assert_fails_untouched(work, ValueError, r'--cfg-options max_epoch: no component reads '
                                             r'"max_epoch".*did you mean max_epochs',
                           lambda: resume(cfg, work, 'max_epoch=5'))


def test_checkpoint_of_another_architecture(case, tmp_path):
    _, cfg, work = case
    wider = ['model.backbone.arch.embed_dim=48', 'model.head.in_channels=48']
    assert_fails_untouched(work, ValueError,
                           r'epoch_2\.pth" does not fit ReIDModel.*size mismatch for backbone',
                           lambda: resume(cfg, work, *wider))
    with pytest.raises(ValueError, match=r'epoch_2\.pth" does not fit ReIDModel.*size mismatch'):
        run_tool('test', cfg, work / 'epoch_2.pth', '--work-dir', tmp_path / 'test',
                 '--cfg-options', *wider)


class _Payload:

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


def test_pretrained_pickle_that_would_run_code_is_refused(trained, tmp_path):
    data, _, _ = trained
    marker = tmp_path / 'pwned'
    evil = tmp_path / 'vit_pretrained.pth'
    torch.save({'state_dict': {'cls_token': torch.zeros(1, 1, 32)}, 'x': _Payload(str(marker))},
               evil)
    cfg = tiny_vit_config(tmp_path / 'cfg.py', data, max_epochs=2)
    with pytest.raises(ValueError, match=rf'Refusing to load "{evil}".*could run arbitrary code'):
        run_tool('train', cfg, '--work-dir', tmp_path / 'work', '--no-test', '--cfg-options',
                 f'model.backbone.pretrained={evil}')
    assert not marker.exists()
    with pytest.raises(CheckpointLoadError, match=rf'refusing to load "{evil}"'):  # as a checkpoint
        run_tool('test', cfg, evil, '--work-dir', tmp_path / 'test')
    assert not marker.exists()


def test_non_finite_loss_stops_naming_the_last_good_checkpoint(case):
    _, cfg, work = case
    with pytest.raises(NonFiniteLossError,
                       match=rf'iteration 9 \(epoch 3, batch 1 of 4\).*loss_cls=nan.*'
                             rf'last good checkpoint is {work / "epoch_2.pth"}'):
        resume(cfg, work, 'model.head.loss_cls.loss_weight=nan')
    assert not (work / 'epoch_3.pth').exists()


def test_option_to_skip_unreadable_images_with_a_logged_count(tmp_path):
    from reidengine.datasets.transforms import LoadReIDImage
    bad = tmp_path / 'broken.png'
    bad.write_bytes(b'\x89PNG\r\n')
    load = LoadReIDImage(on_error='skip')
    assert load(dict(img_path=str(bad))) is None
    assert load(dict(img_path=str(bad))) is None
    assert load.num_skipped == 2
