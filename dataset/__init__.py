"""Dataset layer: annotations, feature stores, snippet sampling, video and pair datasets, and the
synthetic feature generator."""
from dataset.annotations import VideoInfo, load_gt, load_videos, read_split
from dataset.features import (FeatureStore, H5Store, NpyFolderStore, WtalcStore, convert_npy_to_h5,
                              open_feature_store)
from dataset.pairs import PairDataset, build_pairs
from dataset.sampling import random_sample, uniform_sample
from dataset.videos import VideoDataset

__all__ = ["FeatureStore", "H5Store", "NpyFolderStore", "PairDataset", "VideoDataset", "VideoInfo",
           "WtalcStore", "build_pairs", "convert_npy_to_h5", "load_gt", "load_videos",
           "open_feature_store", "random_sample", "read_split", "uniform_sample"]
