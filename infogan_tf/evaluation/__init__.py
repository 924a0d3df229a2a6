"""Measuring what InfoGAN learned, against the paper's numbers.

``metrics``: pure numpy metrics. ``classifier``: the classifier of a labelled dataset that scores samples.
``report``: evaluate one checkpoint and write results.json, results.md and figures.
``summary``: mean, median, min and max over several seeds.
"""
