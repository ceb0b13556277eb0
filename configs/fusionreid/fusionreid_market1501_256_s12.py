# FusionReID on market1501 at 256x128, ViT stride 12 (Table I). Pretrained weights (local files, never
# downloaded): --cfg-options model.backbones.cnn.backbone.pretrained=resnet50-0676ba61.pth
#     model.backbones.vit.backbone.pretrained=jx_vit_base_p16_224-80ecf9dd.pth
_base_ = ['./_base_/fusionreid_256_s12.py']
model = dict(
    backbones=dict(vit=dict(backbone=dict(sie_num_cams=6))),  # camera embedding: 6 cameras
    head=dict(num_classes=_base_.num_pids['market1501']))
train_dataloader = dict(dataset=dict(_base_.market1501_train, pipeline=_base_.train_pipeline))
test_dataloader = [dict(_base_.test_loader, dataset=dict(_base_.market1501_test, pipeline=_base_.test_pipeline))]
