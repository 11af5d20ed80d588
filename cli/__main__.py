"""`python -m cli`: the `deepintshield` command."""

from cli.main import main

main()
