"""``python -m dronefront.validation docs``: write docs/validation.md."""

from dronefront.validation.page import main

if __name__ == "__main__":
    main()
