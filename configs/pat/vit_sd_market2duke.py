# Table 5 row "B+SD": the ViT baseline (vit_baseline_market2duke.py) with the conventional
# self-distillation of Sultana et al. (ACCV 2022, SDViT) that PAT compares against: a random block's
# [cls] token goes through the shared norm, BNNeck and classifier and is distilled from the final
# logits (KL at temperature 3, weight 0.5, the SDViT defaults; PAT does not state them).
_base_ = ['./vit_baseline_market2duke.py']

model = dict(
    type='BlockSelfDistillationModel',
    blocks=None,  # draw from every block, as SDViT's code
    head=dict(type='SelfDistillationHead', temperature=3.0, distill_weight=0.5))
