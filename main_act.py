"""Train or test FTCL / ACM-Net on ActivityNet 1.3. See README.md, or run with --help."""
import sys

from utils.threads import configure_thread_runtime

configure_thread_runtime()  # before torch is imported: fixed OpenMP / MKL thread teams
from engine.run import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("ActivityNet"))
