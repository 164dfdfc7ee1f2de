"""Configuration: the settings schema, the dataset defaults, recipe files, the parser, run
configs."""
from config.args import build_parser, parse_args, parse_config
from config.defaults import DATASETS, dataset_config
from config.recipes import RecipeError, load_recipe
from config.run_config import RunConfig

__all__ = ["DATASETS", "RecipeError", "RunConfig", "build_parser", "dataset_config",
           "load_recipe", "parse_args", "parse_config"]
