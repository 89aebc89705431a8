"""Tracking in the ecosystem's tools: honed's runs, reports, versions and aliases mirrored to MLflow.

honed's own store stays the source of truth; the mirror is best effort (a tracker that cannot be reached warns
once and the run goes on). `mlflow` is imported only when a config turns tracking on.
"""
