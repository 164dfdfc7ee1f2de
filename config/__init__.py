"""Configuration: one dict of hyper-parameters per dataset and the command-line parser."""
from config.args import DATASETS, build_parser, dataset_config, parse_args

__all__ = ["DATASETS", "build_parser", "dataset_config", "parse_args"]
