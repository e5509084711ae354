"""The `rehab` command line: tokens, dead letters, imports and reports, over the services' public APIs."""
