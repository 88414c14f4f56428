"""``python -m capfence.cli``: the same as the ``capfence`` console script."""

from capfence.cli import main

if __name__ == "__main__":
    main()
