"""What practitioners read: every value from ``graph/`` turned into words.

Pages and the meeting pack show only what these modules make: names, not ids; plain
labels for fields and codes (:mod:`planning.code_labels`); UK dates; ages; blanks for
what is not known. Nothing here needs Streamlit, so it is tested on its own.
"""
