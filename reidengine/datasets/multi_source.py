"""Several training sets combined into one, for multi-source domain generalisation (PAT, Ni et al.,
"Part-Aware Transformer for Generalizable Person Re-identification", ICCV 2023, Sec. 4.1: the
leave-one-out protocol trains on three of Market-1501 / DukeMTMC-reID / MSMT17 / CUHK03-NP).

Identities of different sources are different people: source ``d`` gets the pid range
``[sum of earlier num_pids, + its num_pids)`` and the camera range likewise; ``domain = d``.
"""
import copy
from typing import List, Optional, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from reidengine.registry import DATASETS
from .base_dataset import BaseReIDDataset, LabelArraysMixin


@DATASETS.register_module()
class MultiSourceDataset(LabelArraysMixin, BaseDataset):
    """The train splits of ``datasets`` (configs or built datasets) with disjoint pid and camera ranges.

    Args:
        datasets: one entry per source, in domain order: a config dict of a :class:`BaseReIDDataset`
            (``split`` must be ``'train'`` or absent; its ``pipeline`` and ``domain`` are ignored) or a
            built train-split dataset.
        data_root: given to every source config that does not set its own.
        pipeline: transforms applied to the combined items.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset`.

    Metainfo: ``num_pids``, ``num_cams``, ``num_domains``, ``pid_ranges`` and ``cam_ranges`` (one
    ``(start, stop)`` per domain), ``dataset_names``, ``dataset_name`` (names joined by '+'), ``split``.
    """

    def __init__(self,
                 datasets: Sequence[Union[dict, BaseReIDDataset]],
                 data_root: Optional[str] = None,
                 pipeline: Sequence = (),
                 **kwargs):
        if not datasets:
            raise ValueError('MultiSourceDataset: `datasets` is empty; give one dataset config per source')
        self.sources = list(datasets)
        self.source_data_root = data_root
        self.split = 'train'
        super().__init__(pipeline=list(pipeline), **kwargs)

    def build_source(self, source: Union[dict, BaseReIDDataset], domain: int) -> BaseReIDDataset:
        if isinstance(source, dict):
            cfg = copy.deepcopy(source)
            split = cfg.setdefault('split', 'train')
            if split != 'train':
                raise ValueError(f'MultiSourceDataset: source {domain} ({cfg.get("type")}) has split={split!r}; '
                                 "only train splits can be combined")
            if cfg.get('data_root') in (None, ''):  # unset (None in the dataset base configs)
                cfg['data_root'] = self.source_data_root
            cfg.update(domain=domain, pipeline=[])
            source = DATASETS.build(cfg)
        if not isinstance(source, BaseReIDDataset):
            raise TypeError(f'MultiSourceDataset: source {domain} is a {type(source).__name__}, expected a '
                            'config dict or an instance of a BaseReIDDataset subclass')
        if source.split != 'train':
            raise ValueError(f'MultiSourceDataset: source {domain} ({type(source).__name__}) has '
                             f'split={source.split!r}; only train splits can be combined')
        source.full_init()
        return source

    def load_data_list(self) -> List[dict]:
        items, names, pid_ranges, cam_ranges = [], [], [], []
        pid_start = cam_start = 0
        for domain, source in enumerate(self.sources):
            dataset = self.build_source(source, domain)
            meta = dataset.metainfo
            for i in range(len(dataset)):
                info = dataset.get_data_info(i)
                items.append(dict(img_path=info['img_path'], pid=info['pid'] + pid_start,
                                  camid=info['camid'] + cam_start, domain=domain))
            names.append(meta['dataset_name'])
            pid_ranges.append((pid_start, pid_start + meta['num_pids']))
            cam_ranges.append((cam_start, cam_start + meta['num_cams']))
            pid_start, cam_start = pid_ranges[-1][1], cam_ranges[-1][1]
        self._metainfo.update(dataset_name='+'.join(names), dataset_names=names, split='train',
                              num_pids=pid_start, num_cams=cam_start, num_domains=len(names),
                              pid_ranges=pid_ranges, cam_ranges=cam_ranges)
        print_log(f'MultiSourceDataset: {len(items)} images, {pid_start} ids, {cam_start} cameras from '
                  + ', '.join(f'{n} (domain {d}, pids {r[0]}..{r[1] - 1})'
                              for d, (n, r) in enumerate(zip(names, pid_ranges))), logger='current')
        return items
