"""SynthReID as a dataset: generated on first use, then read with the Market-1501 parser."""
import inspect
from typing import Optional, Sequence

from mmengine.dist import barrier, get_rank

from reidengine.registry import DATASETS
from ..market1501 import Market1501
from .generator import dataset_dirname, generate_synthreid, synthreid_params

_GEN_KEYS = tuple(k for k in inspect.signature(generate_synthreid).parameters if k not in ('root', 'style'))


@DATASETS.register_module()
class SynthReID(Market1501):
    """One split of SynthReID style ``style``, in ``<data_root>/synthreid_<style>/`` (with other
    generation parameters than the defaults: ``synthreid_<style>-<hash>/``, so both can coexist).

    Args:
        data_root: folder holding the datasets (see :class:`BaseReIDDataset`).
        style: domain style ('A' street, 'B' indoor mall, 'C' park CCTV); styles have disjoint people.
        gen_cfg: keyword arguments of :func:`generate_synthreid` (``num_train_ids``, ``num_test_ids``,
            ``num_cams``, ``imgs_per_id_cam``, ``img_size``, ``seed``, ...); its defaults where absent.
        split, domain, pipeline, **kwargs: as for :class:`BaseReIDDataset`.

    The folder is (re)generated when missing, incomplete or of another generator version, by rank 0
    while the other ranks wait (a data root shared by all ranks is assumed). Metrics are prefixed
    ``synthreid_<style>`` whatever the parameters.
    """

    dataset_name = 'synthreid'
    inner_dirs = ('.', )
    num_cameras = None  # as many as gen_cfg asks for
    layout_help = ('synthreid_<style>/        (generated on first use)\n'
                   '  meta.json, annotations.json\n'
                   '  bounding_box_train/  0001_c1s1_000001_00.jpg ...\n'
                   '  query/\n'
                   '  bounding_box_test/   ..., 0000_... (distractors), -1_... (junk)')

    def __init__(self,
                 data_root: Optional[str] = None,
                 style: str = 'A',
                 gen_cfg: Optional[dict] = None,
                 split: str = 'train',
                 domain: int = 0,
                 pipeline: Sequence = (),
                 **kwargs):
        gen_cfg = dict(gen_cfg or {})
        unknown = sorted(set(gen_cfg) - set(_GEN_KEYS))
        if unknown:
            raise ValueError(f'SynthReID: unknown gen_cfg keys {unknown}; expected some of {list(_GEN_KEYS)}')
        if 'dataset_dir' in kwargs:
            raise ValueError('SynthReID: the folder is synthreid_<style>; set `style`, not `dataset_dir`')
        params = synthreid_params(style, **{k: v for k, v in gen_cfg.items() if k != 'progress'})
        self.style = style
        self.gen_cfg = gen_cfg
        self.dataset_name = f'synthreid_{style}'  # the metrics' prefix, whatever the parameters
        super().__init__(data_root=data_root, split=split, domain=domain, pipeline=pipeline,
                         dataset_dir=dataset_dirname(style, params), **kwargs)

    def generate(self):
        """Generate the dataset folder unless an identical one exists (rank 0; other ranks wait)."""
        if get_rank() == 0:
            generate_synthreid(self.root, style=self.style, **self.gen_cfg)
        barrier()

    def load_data_list(self):
        self.generate()
        return super().load_data_list()
