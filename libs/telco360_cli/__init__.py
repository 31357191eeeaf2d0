"""The `telco360` command-line tool: an operator's and analyst's client of the four services.

`python -m telco360_cli --help` lists the commands; `python -m telco360_cli demo` runs the
main job end to end on SQLite (what `make demo` does).
"""
