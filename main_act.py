"""Train or test on ActivityNet: FTCL / ACM-Net on ActivityNet 1.3, CO2-Net and STCL-Net on
ActivityNet 1.2 (the W-TALC layout, ``--method co2net|stcl``). See README.md, or run with --help."""
import sys

from utils.threads import configure_thread_runtime

configure_thread_runtime()  # before torch is imported: fixed OpenMP / MKL thread teams
from engine.run import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main("ActivityNet"))
