"""The `switchboard` subcommands, one module each: `add_parser(subparsers)` declares the
command's arguments and sets `func(args, settings) -> int`, which does the work with the
packages below (serve, demo, bench, speech, llm_server, triton, turn)."""
