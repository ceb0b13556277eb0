# FusionReID at 384x128 with ViT patch stride 12: CNN map (24, 8), ViT grid (31, 10) (Table I row).
_base_ = ['./fusionreid_recipe.py']
img_size = (384, 128)
model = dict(
    backbones=dict(vit=dict(backbone=dict(img_size=img_size, stride_size=12))),
    neck=dict(cnn_grid=(24, 8), vit_grid=(31, 10)))
