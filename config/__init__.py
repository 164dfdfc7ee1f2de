"""Configuration: the settings schema, one dict of defaults per dataset, the parser, run configs."""
from config.args import DATASETS, build_parser, dataset_config, parse_args, parse_config
from config.run_config import RunConfig

__all__ = ["DATASETS", "RunConfig", "build_parser", "dataset_config", "parse_args",
           "parse_config"]
