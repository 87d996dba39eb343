"""Regenerate the sample roster files beside this script from the code (the format's one source of truth):

    .venv/bin/python gongzhi/registry/samples/make_samples.py

roster-template.xlsx — the columns, example rows and a sheet 说明 explaining each column;
roster-sample.csv    — the same rows as CSV (UTF-8 with BOM, as Excel saves "CSV UTF-8").
The people are fictitious; their ID numbers carry valid check digits so the sample imports cleanly.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def write_samples(directory: Path = HERE) -> list[Path]:
    # Here, not at the top: run as a script, __main__ puts the project on sys.path and sets Django up first.
    from gongzhi.registry.exporter import iter_csv, write_template  # (likewise)
    from gongzhi.registry.importer import sample_rows  # (likewise)

    xlsx, csv = directory / "roster-template.xlsx", directory / "roster-sample.csv"
    with xlsx.open("wb") as f:
        write_template(f, sample_rows())
    csv.write_bytes(b"".join(iter_csv(iter(sample_rows()))))
    return [xlsx, csv]


if __name__ == "__main__":
    sys.path.insert(0, str(HERE.parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gongzhi.settings")
    import django

    django.setup()
    for path in write_samples():
        print(path)
