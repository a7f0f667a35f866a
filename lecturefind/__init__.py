"""LectureFind: search course videos and slide decks, answer with lecture moments."""

__version__ = "0.1.0"
