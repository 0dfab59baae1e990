"""Pattern-oriented validation: reported patterns the model must reproduce at once.

``python -m dronefront.validation docs`` (``make validation``) writes ``docs/validation.md``:
the pattern table (:mod:`dronefront.validation.patterns`) and the Lanchester checks
(:mod:`dronefront.lanchester.validation`).
"""
