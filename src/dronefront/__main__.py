"""``python -m dronefront``: the same as the ``dronefront`` command."""

from dronefront.entry import main

if __name__ == "__main__":
    main()
