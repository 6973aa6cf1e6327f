"""Target datasets: photos, their cameras and masks."""
