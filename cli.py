"""Run the langir CLI from a checkout: `python cli.py --help` (same app as the `langir` command)."""

from langir.cli import main

if __name__ == "__main__":
    main()
