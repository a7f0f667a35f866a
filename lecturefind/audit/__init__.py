"""Course audit: which learning objectives a course teaches, where, how well, and what it teaches twice or not at all.

`objectives` reads an instructor's list (text/Markdown, CSV, syllabus PDF); `coverage` asks the Searcher about each
objective and judges it covered / thin / missing; `overlap` finds content taught twice and stretches no objective
claims; `report` renders the result as a terminal table, JSON, CSV or an HTML coverage matrix.
"""
