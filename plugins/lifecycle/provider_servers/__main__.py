"""``python -m lifecycle.provider_servers``: run both contract servers until interrupted."""

from lifecycle.provider_servers.cli import main

raise SystemExit(main())
