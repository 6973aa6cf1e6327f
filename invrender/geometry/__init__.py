"""Geometry library for shape optimization: initial shapes, large steps, remeshing, regularizers,
metrics. Pure numpy modules (shapes, remesh, metrics, procedural) import no Mitsuba; the
Dr.Jit ones (largesteps, regularizers) need a variant selected first."""
