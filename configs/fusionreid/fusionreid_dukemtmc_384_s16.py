# FusionReID on dukemtmc at 384x128, ViT stride 16 (Table I). Pretrained weights (local files, never
# downloaded): --cfg-options model.backbones.cnn.backbone.pretrained=resnet50-0676ba61.pth
#     model.backbones.vit.backbone.pretrained=jx_vit_base_p16_224-80ecf9dd.pth
_base_ = ['./_base_/fusionreid_384_s16.py']
model = dict(
    backbones=dict(vit=dict(backbone=dict(sie_num_cams=8))),  # camera embedding: 8 cameras
    head=dict(num_classes=_base_.num_pids['dukemtmc']))
train_dataloader = dict(dataset=dict(_base_.dukemtmc_train, pipeline=_base_.train_pipeline))
test_dataloader = [dict(_base_.test_loader, dataset=dict(_base_.dukemtmc_test, pipeline=_base_.test_pipeline))]
