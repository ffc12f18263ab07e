"""Turns a PSNT header into C: the model's shape constants and kernels
specialised to its shapes. Plain Python (no SCons); `python -m codegen PSNT OUTDIR`."""
