"""`python -m paperfeed` is the same program as the `paperfeed` command."""

from paperfeed.cli import main

raise SystemExit(main())
