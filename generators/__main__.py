"""``python -m generators`` = ``benchgen``."""
from generators.cli import main

main(prog_name="benchgen")
