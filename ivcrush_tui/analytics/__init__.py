"""Pure analytics (METHODS.md): numpy inside, frozen dataclasses in and out, no I/O."""
