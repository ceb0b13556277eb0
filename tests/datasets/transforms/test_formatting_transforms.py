import numpy as np
import pytest
import torch

from reidengine.datasets.transforms import PackReIDInputs
from reidengine.structures import ReIDDataSample


def _item(**extra):
    img = np.random.default_rng(0).integers(0, 256, (6, 4, 3), dtype=np.uint8)
    return dict(img=img, img_path='/data/0001_c2s1_000151_01.jpg', pid=np.int64(1),
                camid=np.int64(1), domain=0, **extra)


def test_packs_chw_uint8_and_metainfo():
    item = _item(sample_idx=17, is_query=np.bool_(True))
    out = PackReIDInputs()(dict(item))
    inputs, sample = out['inputs'], out['data_samples']
    assert set(out) == {'inputs', 'data_samples'}
    assert inputs.dtype == torch.uint8 and inputs.shape == (3, 6, 4) and inputs.is_contiguous()
    for c in range(3):  # channel order kept (BGR); the preprocessor converts to RGB
        np.testing.assert_array_equal(inputs[c].numpy(), item['img'][:, :, c])
    assert isinstance(sample, ReIDDataSample)
    assert sample.metainfo == dict(pid=1, camid=1, domain=0, sample_idx=17, is_query=True,
                                   img_path='/data/0001_c2s1_000151_01.jpg')
    assert type(sample.pid) is int and type(sample.metainfo['is_query']) is bool


def test_optional_keys_left_out_when_absent():
    sample = PackReIDInputs()(_item())['data_samples']
    assert set(sample.metainfo) == {'pid', 'camid', 'domain', 'img_path'}


def test_missing_key_names_key_and_image():
    item = _item()
    del item['camid']
    with pytest.raises(KeyError, match=r"0001_c2s1_000151_01.jpg lacks the keys \['camid'\]"):
        PackReIDInputs()(item)


@pytest.mark.parametrize('img', [np.zeros((6, 4), np.uint8), np.zeros((6, 4, 3), np.float32),
                                 None])
def test_bad_image_is_reported(img):
    item = _item()
    item['img'] = img
    with pytest.raises(ValueError, match='HxWx3 uint8 array for image /data/0001'):
        PackReIDInputs()(item)
