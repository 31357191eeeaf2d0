"""``python -m telco360_datagen``: see cli.py."""

from telco360_datagen.cli import app

if __name__ == "__main__":
    app()
