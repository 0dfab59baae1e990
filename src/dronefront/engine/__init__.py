"""The engagement engine: struct-of-arrays state advanced by an ordered list of stages."""
