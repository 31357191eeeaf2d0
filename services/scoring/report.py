"""`python -m services.scoring.report MODEL_ID --out file.html`: write a model's HTML report.

Reads the model from scoring's store (TELCO360_SCORING_DATABASE_URL, or --database-url)
and renders the same report GetReport serves, without a running server.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from services.scoring.domain.report import render_report
from services.scoring.settings import ScoringSettings
from services.scoring.store import ScoringStore
from telco360_runtime.db import Database
from telco360_runtime.errors import NotFound


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, render the report, write it; returns the exit code."""
    parser = argparse.ArgumentParser(description="Write a scoring model's evaluation report as HTML.")
    parser.add_argument("model_id", help="model id, e.g. churn-20261123-093012-ab12cd")
    parser.add_argument("--out", required=True, help="HTML file to write")
    parser.add_argument("--database-url", default="", help="scoring store URL (default: from the environment)")
    args = parser.parse_args(argv)
    url = args.database_url or ScoringSettings().resolved_database_url()
    db = Database(url, workers=1)
    try:
        record = ScoringStore(db).get_model(args.model_id)
    except NotFound as err:
        sys.stderr.write(f"{err.message}\n")
        return 2
    finally:
        db.dispose()
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(render_report(record, dt.datetime.now(dt.UTC)))
    sys.stdout.write(f"wrote {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
