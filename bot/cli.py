"""The `videotramit` command. Exit codes: 0 success, 1 failure, 2 bad usage or configuration."""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import re
import secrets
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from config.settings import ConfigError, Settings, load_settings
from storage.blobs import KeyringError
from storage.db import DatabaseError

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
CONFIG_HELP = "a TOML file over the embedded defaults (default: $VIDEOTRAMIT_CONFIG)"


class Failure(Exception):
    """A clear, expected failure: printed without a traceback, exit 1."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="videotramit",
        description="Citizen Service Office attention by video call, driven by a chat bot.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="scripted end-to-end story on embedded SQLite")
    demo.add_argument(
        "--out", default="var/demo", metavar="DIR", help="output folder (default var/demo)"
    )

    chat = sub.add_parser("chat", help="talk to the bot in the terminal (or through a pipe)")
    chat.add_argument(
        "--as",
        dest="role",
        choices=["citizen", "staff", "admin"],
        default="citizen",
        help="who you are (default citizen)",
    )
    chat.add_argument(
        "--user",
        default="",
        metavar="NAME|ID",
        help="a citizen's name (the same name is the same person), or a staff member's id",
    )
    chat.add_argument(
        "--language",
        default="",
        choices=["", "ca", "es", "en"],
        help="ca, es or en (default: asked)",
    )
    chat.add_argument(
        "--at",
        type=_office_time,
        metavar="'YYYY-MM-DD HH:MM'",
        help="move the office time forward to this local time, shared by every chat on the"
        " same data dir (try the clerk's side at any hour)",
    )
    chat.add_argument("--config", metavar="FILE", help=CONFIG_HELP)

    run = sub.add_parser("run", help="run the service: channels, dispatcher, web server")
    run.add_argument("--config", metavar="FILE", help=CONFIG_HELP)

    database = sub.add_parser("db", help="database tasks")
    database.add_argument("action", choices=["upgrade"])
    database.add_argument("--config", metavar="FILE", help=CONFIG_HELP)

    stats = sub.add_parser("stats", help="appointment statistics")
    stats.add_argument(
        "--from",
        dest="date_from",
        type=_day,
        metavar="YYYY-MM-DD",
        help="first day, e.g. 2026-01-01 (default: 1 January of this year)",
    )
    stats.add_argument(
        "--to",
        dest="date_to",
        type=_day,
        metavar="YYYY-MM-DD",
        help="last day, included (default: 31 December of the year of --from)",
    )
    stats.add_argument(
        "--format",
        choices=["table", "csv", "json"],
        default="table",
        help="table for people (default), csv for a spreadsheet, json for programs",
    )
    stats.add_argument("--chart", metavar="FILE.png", help="also write the chart (PNG)")
    stats.add_argument("--config", metavar="FILE", help=CONFIG_HELP)

    link = sub.add_parser("room-link", help="print a join URL with a freshly minted JWT")
    link.add_argument("reference")
    link.add_argument(
        "--for",
        dest="role",
        choices=["staff", "citizen"],
        required=True,
        help="whose link: the clerk's (moderator) or the citizen's",
    )
    link.add_argument(
        "--user",
        default="",
        metavar="ID",
        help="staff id (assigned clerk or an administrator), or the citizen's participant id",
    )
    link.add_argument("--config", metavar="FILE", help=CONFIG_HELP)

    recording = sub.add_parser("recording", help="call recordings")
    recording.add_argument("action", choices=["ingest"])
    recording.add_argument("directory", type=Path, help="Jibri's session directory")
    recording.add_argument("--config", metavar="FILE", help=CONFIG_HELP)

    evidence = sub.add_parser("evidence", help="verify or export an appointment's evidence")
    evidence_sub = evidence.add_subparsers(dest="action", required=True, metavar="ACTION")
    verify = evidence_sub.add_parser("verify", help="exit 0 if intact, else name what broke")
    verify.add_argument("target", help="appointment reference or BUNDLE.zip")
    verify.add_argument(
        "--key",
        type=Path,
        metavar="PUBKEY.pem",
        help="the council's published public key (PEM) to check seals with",
    )
    verify.add_argument(
        "--head", metavar="HEX", help="the fingerprint the citizen was given: must be in it"
    )
    verify.add_argument(
        "--tsa-cert", type=Path, metavar="CERT.pem", help="accept time-stamps only from this TSA"
    )
    verify.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    export = evidence_sub.add_parser("export", help="write a bundle a third party can check")
    export.add_argument("reference")
    export.add_argument(
        "--out", type=Path, required=True, metavar="FILE.zip", help="bundle to write"
    )
    export.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    key = evidence_sub.add_parser("key", help="print the council's evidence public key")
    key.add_argument("--new", type=Path, metavar="FILE", help="create a new key in FILE first")
    key.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    daily = evidence_sub.add_parser(
        "journal", help="time-stamp pending seals and sign the roots of the days ended"
    )
    daily.add_argument("--config", metavar="FILE", help=CONFIG_HELP)

    keys = sub.add_parser("keys", help="master keys: rotate, check, retire")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    for name, text in (
        ("status", "each key and how many files and database values it protects"),
        ("new", "add a new key to the key file and make it current (then restart)"),
        ("rewrap", "re-seal every file and database value under the current key"),
    ):
        keys_sub.add_parser(name, help=text).add_argument(
            "--config", metavar="FILE", help=CONFIG_HELP
        )
    retire = keys_sub.add_parser("retire", help="remove a key nothing uses any more")
    retire.add_argument("key_id")
    retire.add_argument("--config", metavar="FILE", help=CONFIG_HELP)

    purge = sub.add_parser("purge", help="apply the retention policy")
    purge.add_argument(
        "--dry-run", action="store_true", help="only say what would be removed; remove nothing"
    )
    purge.add_argument("--config", metavar="FILE", help=CONFIG_HELP)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None))


async def _cmd_demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    app = await run_demo(Path(args.out))
    await app.close()
    return EXIT_OK


def _chat_settings(args: argparse.Namespace) -> tuple[Settings, str]:
    """The settings for `chat`, and a note for the person trying it. Without any
    configuration (or with one that names no staff and no file) the terminal runs on the
    demo council, in its own data dir, so booking and the clerk's side work at once."""
    chosen = args.config or os.environ.get("VIDEOTRAMIT_CONFIG")
    settings = load_settings(chosen)
    if settings.staff:
        return settings, ""
    if chosen:
        raise ConfigError(
            f"staff: {chosen} configures no staff, so nothing can be booked; add a [[staff]]"
            " entry (config/demo.toml shows one), or run chat without --config to try the"
            " demo council"
        )
    from bot.demo import demo_settings

    data_dir = settings.data_dir / "chat"
    demo = demo_settings(data_dir)
    note = (
        f"(No staff is configured: this is the demo council, {demo.council.name},"
        f" with its data in {data_dir}.)"
    )
    return demo, note


def _chat_identity(settings: Settings, role: str, user: str) -> tuple[str, str, str]:
    """(chat id, display name, note) for the person at the terminal."""
    if role == "citizen":
        if user:
            return f"citizen:{_slug(user)}", user, ""
        # A new person each time (about a million names), easy to type to come back.
        tag = "".join(secrets.choice("ABCDEFGHJKMNPQRSTUVWXYZ23456789") for _ in range(4))
        name = f"Citizen {tag}"
        return f"citizen:{_slug(name)}", name, f"(You are {name}; --user '{name}' brings you back.)"
    if user:
        member = next((s for s in settings.staff if s.id == user), None)
        if member is None:
            raise ConfigError(f"staff: no staff member with id {user!r} is configured")
        if role == "admin" and "admin" not in member.roles:
            raise ConfigError(f"staff: {user!r} is not an administrator (roles: {member.roles})")
        return f"staff:{member.id}", member.name, ""
    wanted = [
        s for s in settings.staff if role in s.roles or (role == "staff" and "admin" in s.roles)
    ]
    if not wanted:
        raise ConfigError(f"staff: no {role} is configured; add a [[staff]] entry")
    return f"staff:{wanted[0].id}", wanted[0].name, ""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-") or "citizen"


def _office_time(text: str) -> datetime:
    """--at "2026-12-02 09:25" (the council's local time) or an ISO time with its offset."""
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is not a date and time like "2026-12-02 09:25"'
        ) from None


async def _cmd_chat(args: argparse.Namespace) -> int:
    from babel.dates import format_datetime

    from bot.app import build_app
    from bot.channels.console import ConsoleChannel, ConsoleSession
    from bot.clock import OfficeTimeClock, SystemClock

    settings, note = _chat_settings(args)
    external_id, name, who = _chat_identity(settings, args.role, args.user)

    def out(text: str) -> None:
        print(text, flush=True)

    for line in (note, who):
        if line:
            out(line)
    clock = OfficeTimeClock(SystemClock(), settings.data_dir / "office-time")
    if args.at is not None:
        wanted = args.at if args.at.tzinfo else args.at.replace(tzinfo=settings.tz)
        now = clock.move_to(wanted)
        late = (
            " (it was already later; time never goes back)"
            if now > wanted + timedelta(minutes=1)
            else ""
        )
        # Babel, not strftime: the process locale must not change what the note says.
        shown = format_datetime(now, "EEEE dd MMMM yyyy, HH:mm", tzinfo=settings.tz, locale="en")
        out(f"(Office time: {shown}{late}.)")
    channel = ConsoleChannel(out)
    channel.me = external_id
    app = build_app(
        settings,
        clock=clock,
        channels={channel.name: channel},
        deliver_only={channel.name: {external_id}},
    )
    try:
        await app.prepare_database()
        app.dispatcher.start()
        app.effects.start()
        session = ConsoleSession(
            app.engine,
            external_id=external_id,
            display_name=name,
            language=args.language,
            out=out,
        )
        await session.run()
        await app.dispatcher.drain(within=5)
    finally:
        await app.close()
    return EXIT_OK


async def _cmd_run(args: argparse.Namespace) -> int:
    from bot.app import build_app
    from bot.logs import configure_logging
    from bot.service import StartFailed, serve

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    try:
        await serve(build_app(settings))
    except StartFailed as exc:
        raise Failure(str(exc)) from exc
    return EXIT_OK


async def _cmd_db(args: argparse.Namespace) -> int:
    from storage import db

    settings = _settings(args)
    engine = db.create_engine(settings.database_url)
    try:
        before, after = await db.upgrade(engine, settings.database_url)
    finally:
        await engine.dispose()
    if before == after:
        print(f"database is up to date (revision {after})")
    else:
        print(f"database migrated from revision {before or '(empty)'} to {after}")
    return EXIT_OK


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-03-31") from None


COLUMNS = ("booked", "completed", "cancelled", "no_show", "upcoming", "no_show_rate")


def _rows(report: dict[str, Any]) -> list[list[Any]]:
    """The report as (section, key, counts...) rows, for the table and the CSV."""
    rows: list[list[Any]] = [["total", "", *(report["total"][c] for c in COLUMNS)]]
    for section in ("by_procedure", "by_channel", "by_clerk", "by_month"):
        for key, counts in report[section].items():
            rows.append([section.removeprefix("by_"), key, *(counts[c] for c in COLUMNS)])
    for which in ("confirmed", "not_confirmed"):
        counts = report["reminder_effect"][which]
        rows.append(["reminder", which, *(counts[c] for c in COLUMNS)])
    return rows


def _figures(report: dict[str, Any]) -> list[tuple[str, Any]]:
    satisfaction = report["satisfaction"]
    return [
        ("satisfaction_average", satisfaction["average"]),
        ("would_use_again", satisfaction["would_use_again"]),
        ("survey_answers", satisfaction["answers"]),
        ("median_days_booking_to_appointment", report["median_days_booking_to_appointment"]),
        ("median_session_minutes", report["median_session_minutes"]),
    ]


def _shown(value: Any) -> str:
    return "-" if value is None else str(value)


async def _cmd_stats(args: argparse.Namespace) -> int:
    from bot.app import build_app
    from handlers.admin import BadPeriod, chart_labels, period, report_for

    settings = _settings(args)
    app = build_app(settings)
    try:
        today = app.clock.now().astimezone(settings.tz).date()
        try:
            first, last = period(today, args.date_from, args.date_to)
        except BadPeriod as exc:
            print(f"videotramit stats: {exc}", file=sys.stderr)
            return EXIT_USAGE
        await app.prepare_database()
        async with app.uow() as uow:
            report = await report_for(uow, app.office, first, last)
    finally:
        await app.close()
    data = report.as_dict()
    if args.format == "json":
        print(json.dumps(data, indent=2, ensure_ascii=False))
    elif args.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["section", "key", *COLUMNS])
        writer.writerows([[_shown(v) for v in row] for row in _rows(data)])
        writer.writerows([["figure", name, _shown(value)] for name, value in _figures(data)])
        print(buffer.getvalue(), end="")
    else:
        rows = _rows(data)
        width = max(len(f"{r[0]} {r[1]}") for r in rows)
        print(f"Statistics {data['from']} .. {data['to']}")
        print(f"{'':<{width}}  " + "  ".join(f"{c:>12}" for c in COLUMNS))
        for row in rows:
            label = f"{row[0]} {row[1]}".strip()
            print(f"{label:<{width}}  " + "  ".join(f"{_shown(v):>12}" for v in row[2:]))
        for name, value in _figures(data):
            print(f"{name}: {_shown(value)}")
    if args.chart:
        from documents.chart import StatisticsChart

        png = StatisticsChart().statistics_png(report, chart_labels(settings.default_language))
        try:
            Path(args.chart).write_bytes(png)
        except OSError as exc:
            raise Failure(f"cannot write {args.chart} ({exc.strerror})") from exc
    return EXIT_OK


async def _cmd_purge(args: argparse.Namespace) -> int:
    from bot.app import build_app
    from bot.retention import purge

    settings = _settings(args)
    app = build_app(settings)
    try:
        await app.prepare_database()
        report = await purge(
            app.sessions, app.clock.now(), dry_run=args.dry_run, blobs=app.storage.blobs
        )
    finally:
        await app.close()
    verb = "would remove" if args.dry_run else "removed"
    for what, count in report.items():
        print(f"{verb} {count} {what}")
    return EXIT_OK


async def _with_app(
    args: argparse.Namespace, job: Callable[[Any], Coroutine[Any, Any, int]]
) -> int:
    from bot.app import build_app
    from bot.evidence_ops import OperationFailed

    app = build_app(_settings(args))
    try:
        await app.prepare_database()
        return await job(app)
    except OperationFailed as exc:
        raise Failure(str(exc)) from exc
    finally:
        await app.close()


async def _cmd_room_link(args: argparse.Namespace) -> int:
    from bot.evidence_ops import room_link
    from handlers.ports import MeetingsNotConfigured

    async def job(app: Any) -> int:
        try:
            print(await room_link(app, args.reference, args.role, args.user))
        except MeetingsNotConfigured as exc:
            raise ConfigError(f"jitsi.app_secret: {exc}") from exc
        return EXIT_OK

    return await _with_app(args, job)


async def _cmd_recording(args: argparse.Namespace) -> int:
    from bot.evidence_ops import ingest_recording

    async def job(app: Any) -> int:
        done = await ingest_recording(app, args.directory)
        state = "was already stored" if done.already else "stored"
        print(f"{done.reference}: recording {done.sha256} ({done.size} bytes) {state}")
        return EXIT_OK

    return await _with_app(args, job)


def _read_arg_file(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as exc:
        raise Failure(f"{path}: cannot read the {what} ({exc.strerror})") from exc


def _print_bundle_check(result: Any, key_given: bool) -> int:
    if not result.ok:
        print(f"BROKEN: {result.first_problem}")
        return EXIT_FAILURE
    print(
        f"intact: {result.appointment_ref}, {result.records} records, {result.files} files,"
        f" last hash {result.last_hash}"
    )
    print(f"sealed {result.seals} time(s) with key {result.key_fingerprint}")
    if not key_given:
        print(
            "  (that key is the one inside the bundle: compare its fingerprint with the"
            " council's published one, or pass --key)"
        )
    for line in (*result.timestamps, *result.notes):
        print(f"  {line}")
    if result.proofs:
        print(f"  {result.proofs} seal(s) included in a signed daily root")
    return EXIT_OK


async def _cmd_evidence_key(args: argparse.Namespace) -> int:
    from bot.services import load_evidence_signer
    from storage.evidence_keys import EvidenceSigner

    settings = _settings(args)
    if args.new is not None:
        if args.new.resolve().is_relative_to(settings.data_dir.resolve()):
            raise ConfigError("evidence.key_file: keep the evidence key outside data_dir")
        signer = EvidenceSigner.generate()
        try:
            signer.write(args.new)
        except FileExistsError as exc:
            raise Failure(f"{args.new} already exists; not overwritten") from exc
        print(f'created {args.new}; set [evidence] key_file = "{args.new}"', file=sys.stderr)
    else:
        found = load_evidence_signer(settings)
        if found is None:
            raise ConfigError(
                "evidence.key_file: no evidence key is configured"
                " (create one with `videotramit evidence key --new FILE`)"
            )
        signer = found
    print(signer.public_pem(), end="")
    print(f"fingerprint (SHA-256): {signer.fingerprint}")
    return EXIT_OK


async def _cmd_evidence(args: argparse.Namespace) -> int:
    from bot.evidence_ops import export_reference, verify_reference

    if args.action == "key":
        return await _cmd_evidence_key(args)
    if args.action == "verify" and args.target.lower().endswith(".zip"):
        from storage.evidence_bundle import verify_bundle

        if not Path(args.target).is_file():
            raise Failure(f"{args.target}: no such file")
        result = await asyncio.to_thread(
            verify_bundle,
            args.target,
            public_key=_read_arg_file(args.key, "key"),
            trusted_tsa=_read_arg_file(args.tsa_cert, "certificate"),
            head=args.head,
        )
        return _print_bundle_check(result, args.key is not None)

    async def verify(app: Any) -> int:
        check = await verify_reference(app, args.target, _read_arg_file(args.key, "key"))
        if not check.ok:
            print(f"BROKEN: {check.problem}")
            return EXIT_FAILURE
        print(f"intact: {check.records} records, {check.files} files")
        print(f"sealed {check.seals} time(s) with key {check.key_fingerprint}")
        for note in check.notes:
            print(f"  {note}")
        return EXIT_OK

    async def export(app: Any) -> int:
        manifest = await export_reference(app, args.reference, args.out)
        print(
            f"wrote {args.out}: {manifest['record_count']} records, "
            f"{len(manifest['files'])} files, last hash {manifest['last_hash']}"
        )
        return EXIT_OK

    async def daily(app: Any) -> int:
        from bot.evidence_anchor import journal_closed_days, timestamp_seals

        if app.services.signer is None:
            raise ConfigError("evidence.key_file: no evidence key is configured")
        stamped = await timestamp_seals(app)
        made = await journal_closed_days(app)
        print(f"{stamped} seal(s) time-stamped")
        for entry in made:
            print(f"journal {entry.day}: {entry.size} seal(s), root {entry.root}")
        return EXIT_OK

    jobs = {"verify": verify, "export": export, "journal": daily}
    return await _with_app(args, jobs[args.action])


async def _cmd_keys(args: argparse.Namespace) -> int:
    from bot import keys_ops

    async def job(app: Any) -> int:
        try:
            if args.action == "status":
                report = await keys_ops.key_usage(app)
                for usage in report.keys:
                    mark = " (current)" if usage.current else ""
                    missing = "" if usage.in_keyring else " (NOT IN THE KEYRING)"
                    print(
                        f"{usage.key_id}{mark}{missing}: {usage.blobs} file(s),"
                        f" {usage.values} database value(s)"
                    )
                if report.not_sealed:
                    plain = report.not_sealed
                    print(f"not sealed (planned reminders, rows older than sealing): {plain}")
            elif args.action == "new":
                print(f"current key: {keys_ops.new_key(app)}; restart every instance")
            elif args.action == "rewrap":
                files, values = await keys_ops.rewrap_all(app)
                print(f"re-sealed {files} file(s) and {values} database value(s)")
            else:
                await keys_ops.retire(app, args.key_id)
                print(f"removed {args.key_id}")
        except (keys_ops.KeyInUse, keys_ops.KeysFromEnvironment, KeyringError) as exc:
            raise Failure(str(exc)) from exc
        return EXIT_OK

    return await _with_app(args, job)


COMMANDS: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
    "demo": _cmd_demo,
    "chat": _cmd_chat,
    "run": _cmd_run,
    "db": _cmd_db,
    "stats": _cmd_stats,
    "room-link": _cmd_room_link,
    "recording": _cmd_recording,
    "evidence": _cmd_evidence,
    "purge": _cmd_purge,
    "keys": _cmd_keys,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return asyncio.run(COMMANDS[args.command](args))
    except ConfigError as exc:
        print(f"videotramit: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (DatabaseError, Failure) as exc:
        print(f"videotramit: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
