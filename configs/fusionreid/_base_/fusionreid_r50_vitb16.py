# FusionReID (Wang et al., "Unity is Strength: Unifying Convolutional and Transformeral Features for
# Better Person Re-Identification", IEEE T-ITS 2025): ResNet-50 (last stride 1) + ViT-B/16 with SIE
# (coefficient 3.0) on the same 256x128 image, overlapping patches (stride 12: a 21x10 grid), Local
# Refinement Units to D = 768 (paper mode: the ViT map brought to the CNN's 16x8 grid by a 6x3 depthwise
# conv), GeM, two HTM layers (shared SEU, then one MFU per branch, eq. 8-9 as written), six features
# each with BNNeck + bias-free classifier, label-smoothed CE + soft-margin triplet (unsquared distances),
# test feature = the six pre-BN features concatenated (5,888-d), L2-normalised.
# The experiment configs set the dataset, the SIE camera count and the number of identities.
custom_imports = dict(imports=['plugins.fusionreid'], allow_failed_imports=False)

# ImageNet statistics for the torchvision ResNet, 0.5 / 0.5 for the ViT (its 2020 ImageNet-21k weights,
# jx_vit_base_p16_224-80ecf9dd.pth); on the 0-255 scale. The released code uses 0.5 / 0.5 for both.
imagenet_mean, imagenet_std = (123.675, 116.28, 103.53), (58.395, 57.12, 57.375)
half_mean, half_std = (127.5, 127.5, 127.5), (127.5, 127.5, 127.5)
gem = dict(type='GeM', p=3.0, learnable=True)

model = dict(
    type='FusionReIDModel',
    # stacks and converts BGR -> RGB only; each backbone normalises its own input
    data_preprocessor=dict(type='ReIDDataPreprocessor', mean=(0, 0, 0), std=(1, 1, 1), bgr_to_rgb=True),
    backbones=dict(
        cnn=dict(backbone=dict(type='ResNetReID', depth=50, last_stride=1, pretrained=None),
                 mean=imagenet_mean, std=imagenet_std, img_size=None),
        vit=dict(backbone=dict(type='ViTReID', arch='vit_base_patch16_224', img_size=(256, 128),
                               patch_size=16, stride_size=12, sie_num_cams=0, sie_coef=3.0,
                               drop_path_rate=0.1, pretrained=None),
                 mean=half_mean, std=half_std, img_size=None)),
    neck=dict(
        type='DualAttentionMutualFusion',
        cnn_channels=2048, cnn_grid=(16, 8),   # ResNet-50, last stride 1, at 256x128
        vit_channels=768, vit_grid=(21, 10),   # ViT-B/16, stride 12, at 256x128
        dim=768,
        lru_mode='resize',                     # 'no_resize': the released code's kernel-1 LRU
        cnn_pool=gem,                          # f_c^hat
        dmf_pool=gem,                          # the LRU global tokens; Table V: dict(type='GlobalAvgPool')
        htm=dict(num_layers=2, num_heads=12, mlp_ratio=4.0, qkv_bias=False, norm_eps=1e-5,
                 order='seu_mfu', share_seu=True, share_mfu=False, released_layer_norms=False,
                 drop_path=0.0)),
    head=dict(
        type='MultiFeatureHead',
        num_classes=None,  # the number of training identities (experiment config)
        features=dict(cnn=dict(in_channels=2048), vit=dict(in_channels=768),
                      lru_cnn=dict(in_channels=768), lru_vit=dict(in_channels=768),
                      htm_cnn=dict(in_channels=768), htm_vit=dict(in_channels=768)),
        defaults=dict(
            classifier=dict(type='LinearClassifier', init_std=0.001),
            loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1, loss_weight=1.0),
            # soft margin, Euclidean distances (the released loss); eq. 11's squared form: squared=True
            loss_triplet=dict(type='TripletLoss', margin=None, hard_mining=True, squared=False,
                              loss_weight=1.0),
            triplet_feat='before_bn'),
        reduction='sum',  # eq. 12
        test_feat='before_bn',
        normalize_test=True),
    test_cfg=dict(flip=False))
