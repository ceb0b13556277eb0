"""Random ReID features with realistic structure, at the size of the real test sets.

Each identity has a centre in feature space; each camera adds a bias (the domain gap that makes
cross-camera matching hard); each image adds noise whose strength varies by identity (some
identities are hard). The gallery also holds distractors (pid 0, their own random centres).
Noise levels are set so that the metrics land near those of a trained model (mAP ~0.6-0.8 at
Market scale, lower at MSMT17 scale), so the positives are spread over realistic ranks.
"""
from dataclasses import dataclass

import torch

SCALES = {
    # name: queries, gallery, identities, cameras, distractors among the gallery, noise range
    'market': dict(num_query=3368, num_gallery=15913, num_ids=750, num_cams=6,
                   num_distractors=3819, noise=(0.7, 1.3)),
    'msmt': dict(num_query=11659, num_gallery=82161, num_ids=3060, num_cams=15,
                 num_distractors=0, noise=(0.9, 1.6)),
}


@dataclass
class ReIDFeatures:
    query: torch.Tensor
    gallery: torch.Tensor
    q_pids: torch.Tensor
    g_pids: torch.Tensor
    q_camids: torch.Tensor
    g_camids: torch.Tensor


def make_features(scale: str = 'market', dim: int = 768, seed: int = 0,
                  num_query: int = None, num_gallery: int = None) -> ReIDFeatures:
    """Features of ``scale`` (``market`` / ``msmt``); sizes can be overridden for small runs."""
    cfg = dict(SCALES[scale])
    num_query = num_query or cfg['num_query']
    num_gallery = num_gallery or cfg['num_gallery']
    num_distractors = cfg['num_distractors'] * num_gallery // cfg['num_gallery']
    g = torch.Generator().manual_seed(seed)
    num_ids, num_cams = cfg['num_ids'], cfg['num_cams']
    centres = torch.randn(num_ids + 1, dim, generator=g)
    cam_bias = 0.6 * torch.randn(num_cams, dim, generator=g)
    lo, hi = cfg['noise']
    id_noise = lo + (hi - lo) * torch.rand(num_ids + 1, generator=g)

    def sample(n, pids):
        camids = torch.randint(0, num_cams, (n,), generator=g)
        noise = torch.randn(n, dim, generator=g) * id_noise[pids][:, None]
        feats = centres[pids] + cam_bias[camids] + noise
        return feats, camids

    # identities 1..num_ids; every identity appears in the query set and in the gallery
    q_pids = torch.cat([torch.arange(1, num_ids + 1),
                        torch.randint(1, num_ids + 1, (num_query - num_ids,), generator=g)])
    n_real = num_gallery - num_distractors
    g_pids = torch.cat([torch.arange(1, num_ids + 1),
                        torch.randint(1, num_ids + 1, (n_real - num_ids,), generator=g)])
    query, q_camids = sample(num_query, q_pids)
    gallery, g_camids = sample(n_real, g_pids)
    if num_distractors:
        distractors = torch.randn(num_distractors, dim, generator=g) * 1.2
        d_camids = torch.randint(0, num_cams, (num_distractors,), generator=g)
        gallery = torch.cat([gallery, distractors + cam_bias[d_camids]])
        g_pids = torch.cat([g_pids, torch.zeros(num_distractors, dtype=torch.long)])
        g_camids = torch.cat([g_camids, d_camids])
    # shuffle so that identities are not stored in blocks
    qp = torch.randperm(num_query, generator=g)
    gp = torch.randperm(num_gallery, generator=g)
    return ReIDFeatures(query[qp].contiguous(), gallery[gp].contiguous(), q_pids[qp], g_pids[gp],
                        q_camids[qp], g_camids[gp])
