# FusionReID on msmt17 at 384x128, ViT stride 12 (Table I). Pretrained weights (local files, never
# downloaded): --cfg-options model.backbones.cnn.backbone.pretrained=resnet50-0676ba61.pth
#     model.backbones.vit.backbone.pretrained=jx_vit_base_p16_224-80ecf9dd.pth
_base_ = ['./_base_/fusionreid_384_s12.py']
model = dict(
    backbones=dict(vit=dict(backbone=dict(sie_num_cams=15))),  # camera embedding: 15 cameras
    head=dict(num_classes=_base_.num_pids['msmt17']))
train_dataloader = dict(dataset=dict(_base_.msmt17_train, pipeline=_base_.train_pipeline))
test_dataloader = [dict(_base_.test_loader, dataset=dict(_base_.msmt17_test, pipeline=_base_.test_pipeline))]
