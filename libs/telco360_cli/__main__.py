"""`python -m telco360_cli`: run the command-line tool."""

from telco360_cli.app import main

if __name__ == "__main__":
    main()
