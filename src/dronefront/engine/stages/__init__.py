"""The ordered stages of one simulation step; each reads and writes the state in place."""
