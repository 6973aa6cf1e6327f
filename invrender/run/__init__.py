"""The run: session, loop, run folder, checkpoints, previews, evaluation and export."""
