"""Inference post-processing and evaluation: CAS -> proposals -> results JSON -> mAP."""
