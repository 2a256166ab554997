"""Curation: lists, annotations and archive, all following entity merges at read time.

Kept free of imports so that `signalgraph.resolve.decisions` can call the merge rules
in `signalgraph.curate.groups` without an import cycle.
"""
