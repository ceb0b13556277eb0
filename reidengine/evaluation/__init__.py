"""Evaluation: ReID metric (mAP, CMC, mINP), ranking, re-ranking."""
