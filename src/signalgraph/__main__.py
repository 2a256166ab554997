"""Allow `python -m signalgraph`."""

from signalgraph.cli import run

run()
