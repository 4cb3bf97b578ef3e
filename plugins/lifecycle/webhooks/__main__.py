import sys

from lifecycle.webhooks.runner import main

if __name__ == "__main__":
    sys.exit(main())
