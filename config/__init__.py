"""Configuration: the settings schema, one dict of defaults per dataset, the parser, run configs."""
from config.args import (DATASETS, RecipeError, build_parser, dataset_config, load_recipe,
                         parse_args, parse_config)
from config.run_config import RunConfig

__all__ = ["DATASETS", "RecipeError", "RunConfig", "build_parser", "dataset_config",
           "load_recipe", "parse_args", "parse_config"]
