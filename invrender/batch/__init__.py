"""Batches of runs (configs x sweeps) through submitit: SLURM job arrays, local processes, debug."""
