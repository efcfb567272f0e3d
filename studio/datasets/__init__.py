"""Dataset import (CSV, Parquet, JSON, JSONL, ZIP of images), profile, load and delete."""
from .access import columns, load_dataframe, load_profile, preview
from .errors import DatasetError
from .importer import delete_dataset, experiments_using, import_dataset

__all__ = ["DatasetError", "columns", "delete_dataset", "experiments_using", "import_dataset",
           "load_dataframe", "load_profile", "preview"]
