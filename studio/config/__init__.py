"""The experiment configuration schema: the single source of every default, bound and rule."""
from .errors import ConfigError
from .experiment import ExperimentConfig, field_info, field_meta, get_path, iter_fields
from .loading import dump_yaml, from_dict, load_yaml, merge, overrides, overrides_yaml, parse_overrides
from .resolve import resolve

__all__ = [
    "ConfigError", "ExperimentConfig", "field_info", "field_meta", "get_path", "iter_fields",
    "dump_yaml", "from_dict", "load_yaml", "merge", "overrides", "overrides_yaml", "parse_overrides", "resolve",
]
