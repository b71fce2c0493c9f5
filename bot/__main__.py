"""`python -m bot` runs the paperbot command line."""

from bot.cli.main import main

raise SystemExit(main())
