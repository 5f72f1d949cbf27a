"""The stage runner behind ``make all`` and ``make stale``: the study's notebooks, their
parameters and order (:mod:`.plan`), a stamp per executed notebook and why one is stale
(:mod:`.stamps`), the files a notebook's kernel reads and writes (:mod:`.trace`), and running
the stale ones through papermill (:mod:`.run`). ``python -m rgd_utils.stages`` is its command line.
"""
