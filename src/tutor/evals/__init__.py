"""The eval suite: versioned datasets, targets to answer them, judges, metrics and reports.

`tutor eval` drives it (runner.run_eval); nothing here is imported by the tutor itself.
"""
