"""Early identification and forward planning: risk of NEET, transitions, needs ahead,
alerts. Logic only; every read and write goes through ``graph/``."""
