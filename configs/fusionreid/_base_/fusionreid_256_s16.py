# FusionReID at 256x128 with ViT patch stride 16: CNN map (16, 8), ViT grid (16, 8) (Table I row).
_base_ = ['./fusionreid_recipe.py']
img_size = (256, 128)
model = dict(
    backbones=dict(vit=dict(backbone=dict(img_size=img_size, stride_size=16))),
    neck=dict(cnn_grid=(16, 8), vit_grid=(16, 8)))
