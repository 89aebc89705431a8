"""The bottom layer: typed records, chat rendering, config, store, run directories, errors, paths. Imports nothing above it."""
