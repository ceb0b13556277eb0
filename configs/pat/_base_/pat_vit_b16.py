# PAT model (Ni et al., ICCV 2023, Sec. 3 and 4.2): ViT-B/16 at 256x128 with one part token per
# band of part_attention.bands (3; copies of the pretrained cls token), the part-aware attention
# mask of eq. 3-4, and
# ID (part-guided self-distillation, eq. 7-8) + soft-margin triplet (eq. 9) on the cls token and
# Cross-ID Similarity Learning (eq. 6) on the part tokens. Pixels normalised with mean = std = 0.5.
#
# num_classes is set by the experiment config from the dataset config's `num_pids`.
# Switches that reproduce the released code (see plugins/pat/README.md):
#   part_attention.visibility='official', part_attention.random_subregions=True,
#   head.loss_cls=dict(type='CrossEntropyLabelSmooth', epsilon=0.1)   (its PSD never runs)
# Knobs (docs/configs.md): `img_size` (from the dataset base config) and `pretrained` reach the
# backbone through '${...}'. pretrained: a local ImageNet ViT-B/16 checkpoint (e.g.
# jx_vit_base_p16_224-80ecf9dd.pth), None = from scratch.
pretrained = None
model = dict(
    type='PATModel',
    data_preprocessor=dict(
        type='ReIDDataPreprocessor',
        mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5],
        bgr_to_rgb=True),
    backbone=dict(
        type='ViTReID',
        arch='vit_base_patch16_224',
        img_size='${img_size}',
        patch_size=16,
        stride_size=16,
        extra_token_init='cls',
        drop_path_rate=0.1,
        frozen_patch_embed=True,
        pretrained='${pretrained}'),
    part_attention=dict(
        bands=[(0.0, 0.5), (0.25, 0.75), (0.5, 1.0)],  # rows [0, H/2), [H/4, 3H/4), [H/2, H)
        visibility='paper',
        random_subregions=False),
    head=dict(
        type='PATHead',
        in_channels=768,
        num_classes=None,  # placeholder: the number of training identities
        memory_momentum=0.1,
        classifier=dict(type='LinearClassifier', init_std=0.001),
        loss_cls=dict(type='PartGuidedSelfDistillation', alpha=0.5, lam=0.5, epsilon=0.1,
                     loss_weight=1.0),
        # Euclidean distances as the released code; squared=True gives eq. 9 as printed
        loss_triplet=dict(type='TripletLoss', margin=None, hard_mining=True, squared=False,
                          loss_weight=1.0),
        csl_loss=dict(type='CrossIDSimilarityLoss', k=10, form='distance', scale=0.02,
                      temperature=0.02, loss_weight=1.0)),
    test_cfg=dict(flip=False))
