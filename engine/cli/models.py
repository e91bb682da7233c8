"""`models status | download [ROLE...] | make-tiny DIR`."""

from __future__ import annotations

import argparse

from engine.cli.common import EXIT_FAILED, EXIT_MISSING_MODELS, EXIT_OK, add_common_arguments

HELP = "show, download or create model weights"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="models_action", required=True, metavar="ACTION")
    status = actions.add_parser("status", help="say for each role whether its weights are found")
    add_common_arguments(status)
    download = actions.add_parser("download", help="fetch the standard public weights (needs the network)")
    download.add_argument("roles", nargs="*", metavar="ROLE", help="roles to fetch (default: all)")
    download.add_argument("--dest", help="folder for the weights (default: the user's model folder)")
    add_common_arguments(download)
    tiny = actions.add_parser("make-tiny", help="write tiny random-weight models + models.toml (for tests)")
    tiny.add_argument("folder", metavar="DIR")
    tiny.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    if args.models_action == "make-tiny":
        from engine.models.tiny import make_tiny

        path = make_tiny(args.folder, seed=args.seed)
        print(f"wrote tiny models and {path}")
        return EXIT_OK
    from engine.models.config import ModelsConfig

    config = ModelsConfig.load(args.models)
    if args.models_action == "status":
        from engine.models.status import format_status, role_status

        rows = [role_status(config.spec(role)) for role in config.roles]
        print(format_status(rows, config))
        return EXIT_OK if all(row.found for row in rows) else EXIT_MISSING_MODELS
    from engine.models.download import download_roles

    return EXIT_OK if download_roles(config, args.roles, args.dest) else EXIT_FAILED
