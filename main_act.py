"""Train or test FTCL / ACM-Net on ActivityNet 1.3. See README.md, or run with --help."""
import sys

from engine.run import main

if __name__ == "__main__":
    sys.exit(main("ActivityNet"))
