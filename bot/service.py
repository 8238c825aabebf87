"""`videotramit run`: migrate, start the web server, the dispatcher and the channels;
stop cleanly on SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from bot.app import App
from bot.evidence_anchor import evidence_worker
from bot.instances import heartbeat
from bot.web import build_web
from config.settings import ConfigError
from storage import db

log = logging.getLogger("videotramit.service")


class StartFailed(Exception):
    """A channel could not start (its platform unreachable, a token refused): the service
    exits (1) for its supervisor to start it again, with one line saying why."""


async def serve(app: App, *, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    try:
        lock = db.lock_sqlite(app.settings.database_url)
    except db.DatabaseInUse as exc:
        await app.close()
        raise ConfigError(str(exc)) from None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await app.prepare_database()
    if lock is not None:
        # The lock file makes this the only instance on the database: leases left in it
        # are a dead process's, and waiting for them to run out would only delay.
        await app.dispatcher.release_dead_leases()
    runner = web.AppRunner(build_web(app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, app.settings.web.host, app.settings.web.port)
    worker: asyncio.Task[None] | None = None
    beating: asyncio.Task[None] | None = None
    try:
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(
                f"web.listen: cannot listen on {app.settings.web.listen} ({exc.strerror})"
            ) from None
        if app.sandbox is not None:
            await app.sandbox.start()  # the intake workers, ready before the first file
        for name, channel in app.channels.items():
            try:
                await channel.start()
            except Exception as exc:
                raise StartFailed(
                    f"{name}: cannot start ({exc.__class__.__name__}: {exc})"
                ) from exc
        beating = asyncio.create_task(heartbeat(app, stop), name="heartbeat")
        app.dispatcher.start()
        app.scheduler.start()
        app.effects.start()
        if app.services.signer is None:
            log.warning(
                "no evidence key ([evidence] key_file): chains are left unsealed and"
                " `evidence verify` will say so"
            )
        worker = asyncio.create_task(evidence_worker(app, stop))
        log.info(
            "videotramit is running",
            extra={"listen": app.settings.web.listen, "channels": sorted(app.channels)},
        )
        await stop.wait()
        log.info("stopping")
        await worker
        await beating
    finally:
        for task in (worker, beating):
            if task is not None and not task.done():
                task.cancel()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await app.close()
        await runner.cleanup()
        if lock is not None:
            lock.close()
        log.info("stopped")
