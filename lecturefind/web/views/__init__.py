"""One blueprint per page family."""
