"""``python -m tools.gpu_check``: does a CUDA machine give the CPU's numbers, and how fast is it?

One command (``make gpu-check``) that runs, on a machine with CUDA, the CUDA cases of the test
suite, the CPU-vs-CUDA agreement of every method (model outputs, loss terms, gradients, a few
training steps, a whole test pass on synthetic data) and the benchmarks on CUDA, and writes one
report with PASS/FAIL per check (docs/gpu-check.md). Without CUDA it says so in one line and
exits 0.

Modules: :mod:`.compare` (pure comparisons with stated tolerances), :mod:`.report` (the checks,
the machine, the report file), :mod:`.agreement` (CPU against another device per method),
:mod:`.speed` (the benchmarks on CUDA), :mod:`.__main__` (the command).
"""
