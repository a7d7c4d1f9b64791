"""One module per heading of the report, each exposing `SECTION` (`reporting.section.Section`).

A section reads only the view and the shared base (labels, frames, stats, survival, markdown,
plotting…); `report.py` lists them in report order.
"""
