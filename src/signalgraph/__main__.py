"""Allow `python -m signalgraph`."""

from signalgraph.cli import main

main()
