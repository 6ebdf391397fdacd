"""providers/demo layer."""
