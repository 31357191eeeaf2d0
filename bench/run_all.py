"""`make bench`: every service's benchmark in turn, with its defaults; stops at the first failure.

Each benchmark prints its own figures (and their reference measured in the same run);
extra arguments go to each one, e.g. `python -m bench.run_all scoring -- --duration 2`.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ("ingest", "profile", "scoring", "contact")


def main(argv: list[str]) -> int:
    names = [a for a in argv if a in BENCHMARKS] or list(BENCHMARKS)
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    for name in names:
        print(f"\n=== bench/{name}", flush=True)
        done = subprocess.run([sys.executable, "-m", f"bench.{name}.run", *extra], check=False)
        if done.returncode != 0:
            print(f"bench/{name} failed with exit status {done.returncode}", file=sys.stderr)
            return done.returncode
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
