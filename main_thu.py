"""Train or test FTCL / ACM-Net on THUMOS'14. See README.md, or run with --help."""
import sys

from engine.run import main

if __name__ == "__main__":
    sys.exit(main("THUMOS"))
