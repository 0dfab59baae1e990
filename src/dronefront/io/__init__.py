"""Files on disk: run folders written atomically, manifests, canonical hashing."""
