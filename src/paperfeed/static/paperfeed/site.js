// Progressive enhancement for votes and comments; every page works without it.
