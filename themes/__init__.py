"""The shipped colour themes (*.toml), installed as the package data `ivcrush_tui.themes`.

A regular package (not a namespace one) so that importlib.resources finds it in editable installs
too; see ivcrush_tui/app/themes.py.
"""
