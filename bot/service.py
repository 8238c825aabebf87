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
from bot.scheduled import Scheduled
from bot.web import build_web

log = logging.getLogger("videotramit.service")


async def serve(app: App, *, stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await app.prepare_database()
    runner = web.AppRunner(build_web(app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, app.settings.web.host, app.settings.web.port)
    worker: asyncio.Task[None] | None = None
    beating: asyncio.Task[None] | None = None
    leading: asyncio.Task[None] | None = None
    try:
        await site.start()
        for channel in app.channels.values():
            await channel.start()
        beating = asyncio.create_task(heartbeat(app, stop), name="heartbeat")
        leading = asyncio.create_task(Scheduled(app).run(stop), name="scheduled-work")
        app.dispatcher.start()
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
        await leading
    finally:
        for task in (worker, beating, leading):
            if task is not None and not task.done():
                task.cancel()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await app.close()
        await runner.cleanup()
        log.info("stopped")
