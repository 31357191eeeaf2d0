"""`python -m services.scoring.api.report_cli MODEL_ID --out file.html`: write a model's HTML report.

The scoring service's command-line interface (api layer): parses the arguments and calls
the report use case (usecases/reports.py).

Reads the model from scoring's store (TELCO360_SCORING_DATABASE_URL, or --database-url)
and renders the same report GetReport serves, without a running server.
"""

from __future__ import annotations

import argparse
import sys

from services.scoring.settings import ScoringSettings
from services.scoring.usecases.reports import write_report_file
from telco360_runtime.errors import NotFound


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, render the report, write it; returns the exit code."""
    parser = argparse.ArgumentParser(description="Write a scoring model's evaluation report as HTML.")
    parser.add_argument("model_id", help="model id, e.g. churn-20261123-093012-ab12cd")
    parser.add_argument("--out", required=True, help="HTML file to write")
    parser.add_argument("--database-url", default="", help="scoring store URL (default: from the environment)")
    args = parser.parse_args(argv)
    url = args.database_url or ScoringSettings().resolved_database_url()
    try:
        write_report_file(url, args.model_id, args.out)
    except NotFound as err:
        sys.stderr.write(f"{err.message}\n")
        return 2
    sys.stdout.write(f"wrote {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
