"""The workbench: a browser front for the people around the model (reviewers, experts, admins).

Blind A/B review whose votes and corrections become training data, a runs and registry dashboard, a prepared-data
explorer and a side-by-side playground. `honed ui` serves it alone; `honed serve` mounts it at `/`.
"""
