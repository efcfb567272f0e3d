"""A Studio home for a team of three (two members, one admin) with one experiment each member owns."""
from __future__ import annotations

from pathlib import Path

from studio.auth import UserFile
from studio.store import Store
from studio.store.database import forget_database

PASSWORDS = {"ann": "ann-password-1", "ben": "ben-password-2", "root": "root-password-3"}


def team_home(root: Path) -> tuple[Path, Path, dict[str, str]]:
    """(home, auth file, {owner: experiment id}); the experiments are Completed rows without runs."""
    home, auth_file = root / "home", root / "users.yaml"
    users = UserFile(auth_file)
    users.add_user("root", PASSWORDS["root"], "admin")
    users.add_user("ann", PASSWORDS["ann"], "member")
    users.add_user("ben", PASSWORDS["ben"], "member")
    store = Store(home)
    dataset = store.datasets.add({"name": "qa", "rows": 8, "owner": "ann"})
    config = f"dataset:\n  train_dataset_id: {dataset['id']}\n"
    owned = {owner: store.experiments.add({"name": f"{owner}-run", "status": "Completed", "owner": owner,
                                           "problem_type": "text_causal_language_modeling", "config": config,
                                           "dataset_id": dataset["id"]})["id"]
             for owner in ("ann", "ben")}
    forget_database(home / "db.json")  # the app process opens it next
    return home, auth_file, owned
