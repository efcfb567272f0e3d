"""An id made of digits typed unquoted into YAML is read by YAML as a number; Studio takes it as the id.

Seen in CI: a dataset id drawn as 624152434822 made the dialog raise "unsupported operand type(s)
for /: 'PosixPath' and 'int'" when the YAML named it without quotes.
"""
from __future__ import annotations

import uuid

from studio.config.experiment import ExperimentConfig
from studio.config.yaml_input import parse_yaml_text
from studio.paths import dataset_dir
from studio.store import records


def test_an_unquoted_all_digit_dataset_id_is_taken_as_the_id():
    data = parse_yaml_text("dataset:\n  train_dataset_id: 624152434822\n  input_column: 2024\n")
    assert data["dataset"]["train_dataset_id"] == 624152434822  # what YAML makes of it
    config = ExperimentConfig.model_validate(data)
    assert config.dataset.train_dataset_id == "624152434822"
    assert config.dataset.input_column == "2024"


def test_the_folder_of_a_dataset_id_that_yaml_read_as_a_number(tmp_path):
    assert dataset_dir(624152434822, tmp_path) == dataset_dir("624152434822", tmp_path)


def test_new_ids_are_never_all_digits(monkeypatch):
    drawn = iter([uuid.UUID(int=0x624152434822 << 80), uuid.UUID(int=0xab41524348220000 << 64)])
    monkeypatch.setattr(records.uuid, "uuid4", lambda: next(drawn))
    assert records.new_id() == "ab4152434822"
