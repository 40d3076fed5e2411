"""The ``plenary`` command: serve, agenda, token, keys.

Every command takes ``--config`` and ``--data``; a config or input problem is one line on
stderr naming the file, item and field, and exit status 2, never a traceback. So is an aiortc,
aioice or pylibsrtp that the relay was not written against, when ``serve`` starts.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from scheduler.clock import SystemClock, wall_now
from server.auth.keys import KeyRing, KeyRingError
from server.config import load_config
from server.config_fields import ConfigError
from server.config_media import ice_address_problem
from server.data_folder import prepare_data_folder
from server.errors import InvalidInput, StoreUnavailable
from server.media.aiortc_internals.compat import InternalsChanged, check_compatible
from server.operations.logs import LogFormat, configure_logging
from server.rooms.socket_manager import check_compatible as check_socketio
from server.store import StoreError

EXIT_USAGE = 2


class CommandError(Exception):
    """A problem with what the user asked for, printed as one line."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.command(args))
    except (ConfigError, CommandError, KeyRingError, StoreError, InternalsChanged) as error:
        print(f"plenary: {error}", file=sys.stderr)
        return EXIT_USAGE
    except InvalidInput as error:
        print(f"plenary: {error.message}", file=sys.stderr)
        return EXIT_USAGE
    except StoreUnavailable as error:
        print(f"plenary: the store is unavailable: {error.reason}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        type=Path,
        default=Path("config.toml"),
        help="the event's config file (default: ./config.toml)",
    )
    common.add_argument(
        "--data",
        type=Path,
        default=Path("var"),
        help="the folder holding all state (default: ./var)",
    )
    parser = argparse.ArgumentParser(prog="plenary", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[common], help="run the server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--rehearse",
        nargs="?",
        const="soon",
        metavar="START",
        help="replay the agenda as if its first item began at START "
        "(ISO 8601 with offset; default: a minute from now)",
    )
    serve.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="with --rehearse, agenda time runs this many times faster",
    )
    serve.add_argument(
        "--ice-address",
        action="append",
        default=[],
        metavar="ADDR",
        help="an address the media relay announces (repeatable)",
    )
    serve.add_argument(
        "--demo-feed",
        action="store_true",
        help="a synthetic hall feed (test card, clock, tone) joins every open room",
    )
    serve.add_argument(
        "--log-format",
        choices=[log_format.value for log_format in LogFormat],
        help="text for a person, json (one object a line) for a log collector "
        "(default: [server] log_format, else text)",
    )
    serve.add_argument(
        "--print-links",
        action="store_true",
        help="print a signed-in link to every page for every staff role",
    )
    serve.set_defaults(command=_serve)

    agenda = commands.add_parser("agenda", parents=[common], help="print the timetable")
    agenda.add_argument(
        "--at",
        metavar="INSTANT",
        help="show the rooms' states at this ISO 8601 instant (default: now)",
    )
    agenda.set_defaults(command=_agenda)

    token = commands.add_parser("token", help="access tokens").add_subparsers(
        required=True, metavar="ACTION"
    )
    issue = token.add_parser("issue", parents=[common], help="print a signed access token")
    issue.add_argument("--role", required=True)
    issue.add_argument("--name", required=True)
    issue.add_argument("--rooms", default="*", help="room ids, comma-separated, or *")
    issue.add_argument("--ttl", help="lifetime like 6h or 30m (default: [auth] staff_ttl)")
    issue.set_defaults(command=_token_issue)

    revoke = token.add_parser("revoke", parents=[common], help="stop a token working everywhere")
    revoke.add_argument("jti", metavar="JTI", help="the token's jti claim")
    revoke.set_defaults(command=_token_revoke)

    keys = commands.add_parser("keys", help="signing keys").add_subparsers(
        required=True, metavar="ACTION"
    )
    rotate = keys.add_parser("rotate", parents=[common], help="start signing with a new key")
    rotate.set_defaults(command=_keys_rotate)
    return parser


def _serve(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    check_compatible()  # before the relay's modules are imported: some would fail to import
    check_socketio()
    from server.cli.serve import serve

    addresses = _ice_addresses(args.ice_address) or config.ice_addresses
    start = None if args.rehearse is None else _rehearsal_start(args.rehearse)
    if args.rehearse is None and args.speed != 1.0:
        raise CommandError("--speed only goes with --rehearse")
    configure_logging(LogFormat(args.log_format or config.log_format))
    serve(
        config,
        args.data,
        host=args.host,
        port=args.port,
        rehearsal_start=start,
        speed=args.speed,
        ice_addresses=addresses,
        print_links=args.print_links,
        demo_feed=args.demo_feed,
    )
    return 0


def _agenda(args: argparse.Namespace) -> int:
    from server.cli.agenda import print_agenda

    config = load_config(args.config)
    at = _instant(args.at, "--at") if args.at else wall_now()
    print_agenda(config, args.data, at)
    return 0


def _token_issue(args: argparse.Namespace) -> int:
    from server.auth.permissions import parse_role
    from server.auth.tokens import TokenService, parse_ttl

    config = load_config(args.config)
    role = parse_role(args.role)
    ttl = parse_ttl(args.ttl) if args.ttl else config.staff_ttl
    rooms = [room.strip() for room in args.rooms.split(",") if room.strip()]
    unknown = [room for room in rooms if room != "*" and room not in config.timetable]
    if unknown:
        raise CommandError(f"--rooms: no room {unknown[0]!r} in {config.path}")
    prepare_data_folder(args.data)
    tokens = TokenService(KeyRing.open(args.data), config.issuer, SystemClock().now)
    print(tokens.issue(role=role, name=args.name, rooms=rooms, ttl=ttl))
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    import asyncio

    from server.auth.tokens import JTI

    if not JTI.fullmatch(args.jti):
        raise CommandError(f"{args.jti!r} is not a token id (the jti claim of a token)")
    config = load_config(args.config)
    prepare_data_folder(args.data)
    fresh = asyncio.run(_revoke(config.store_url, args.data, args.jti))
    print(
        f"token {args.jti} {'revoked' if fresh else 'was already revoked'}; live connections "
        "using it end within seconds",
        file=sys.stderr,
    )
    return 0


async def _revoke(store_url: str, data_dir: Path, jti: str) -> bool:
    from server.store import Store

    store = Store.in_data_dir(data_dir, store_url or None)
    try:
        await store.prepare()
        return await store.registrations.revoke_token(jti, wall_now(), "revoked by command")
    finally:
        await store.close()


def _keys_rotate(args: argparse.Namespace) -> int:
    prepare_data_folder(args.data)
    kid = KeyRing.open(args.data).rotate()
    print(
        f"new signing key {kid}; tokens signed before keep working until they expire",
        file=sys.stderr,
    )
    return 0


def _rehearsal_start(text: str) -> datetime:
    if text == "soon":
        return (wall_now() + timedelta(minutes=1)).replace(microsecond=0)
    return _instant(text, "--rehearse")


def _instant(text: str, flag: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{flag}: {text!r} is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        raise CommandError(f"{flag}: {text!r} needs a UTC offset, like 2021-06-14T14:00+02:00")
    return instant


def _ice_addresses(values: list[str]) -> tuple[str, ...]:
    for value in values:
        problem = ice_address_problem(value)
        if problem is not None:
            raise CommandError(f"--ice-address: {problem}")
    return tuple(values)


if __name__ == "__main__":
    sys.exit(main())
