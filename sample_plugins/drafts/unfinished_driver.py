# Not loaded: drafts/ has no __init__.py, so it is not a package.
# `python -m pike sample_plugins` lists it under "Skipped".
