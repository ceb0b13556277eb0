"""ONNX export of every plugin's model (the SynthReID configs, random weights): onnxruntime equals
PyTorch at two batch sizes; a model with a camera embedding is refused with a clear error."""
import os.path as osp

import pytest

from reidengine.apis import init_model

pytest.importorskip('onnxruntime')
pytest.importorskip('onnx')
from reidengine.apis.export import ExportError, check_onnx, export_onnx  # noqa: E402

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs')
NO_SIE = {
    'fusionreid/fusionreid_synthreid.py': {'model.backbones.vit.backbone.sie_num_cams': 0},
    'drformer/drformer_synthreid.py': {'model.backbones.dino.backbone.sie_num_cams': 0,
                                       'model.backbones.clip.backbone.sie_num_cams': 0},
}


@pytest.mark.parametrize('config', ['pat/pat_synthreid.py', 'aaformer/aaformer_synthreid.py',
                                    'mdpr/mdpr_synthreid.py', 'fusionreid/fusionreid_synthreid.py',
                                    'drformer/drformer_synthreid.py'])
def test_plugin_models_export(config, tmp_path):
    model = init_model(osp.join(CONFIGS, config), cfg_options=NO_SIE.get(config))
    out = export_onnx(model, str(tmp_path / 'model.onnx'))
    assert check_onnx(model, out, batch_sizes=(1, 3)) < 1e-4


def test_camera_embedding_models_are_refused(tmp_path):
    model = init_model(osp.join(CONFIGS, 'fusionreid/fusionreid_synthreid.py'))
    with pytest.raises(ExportError, match='uses camera ids'):
        export_onnx(model, str(tmp_path / 'model.onnx'))
