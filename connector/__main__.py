"""`python -m connector` is the same CLI as `mentor-connector`."""

from connector.cli import main

main(prog_name="mentor-connector")
