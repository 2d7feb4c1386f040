"""`python -m server` runs the same command line as `unrolled`."""

from server.cli import main

if __name__ == "__main__":
    main()
