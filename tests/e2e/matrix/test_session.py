"""A whole video session with the clerk on Matrix: the citizen on Matrix too (encrypted
rooms; the receipt arrives as an encrypted file), or on Telegram."""

from __future__ import annotations

import io
from pathlib import Path

from pypdf import PdfReader

from tests.support import Clock, document_photo
from tests.synapse import Synapse

from .conftest import Talk, book, running_bot, unique


async def panel_after(talk: Talk, words: str) -> None:
    """Until the bot said ``words`` on its own and then redrew the panel (both by the
    outbox, after the turn that asked for them)."""
    said = await talk.wait_seen(words)
    seen = talk.person.seen
    await talk.person.wait_for(
        lambda: any("Finalitzar" in s.body for s in seen[seen.index(said) + 1 :])
    )


async def run_panel(anna: Talk, reference: str) -> None:
    await anna.say("!today")
    await anna.choose("9:00")
    await anna.choose("Obrir la sessió")
    assert f"Sessió {reference}" in anna.text and "#jwt=" in anna.text
    await anna.choose("Identitat")
    await anna.choose("DNI")
    await anna.say("12345678Z")
    await anna.choose("Sí, coincideix")
    assert "Identitat validada" in anna.text


async def fill_and_send(anna: Talk) -> None:
    await anna.choose("Dades")
    await anna.say("12345678Z")  # identity number field
    # A field awaits a typed value, so its options are answered by their words only.
    assert "• Individual" in anna.text and "1. Individual" not in anna.text
    await anna.say("Individual")
    await anna.say("No")
    await anna.say("Per a l'escola")
    assert "Tots els camps" in anna.text, anna.text
    await anna.say("Tornar al tauler")
    await anna.choose("Enviar per conformitat")


async def test_session_with_both_on_matrix_in_encrypted_rooms(
    synapse: Synapse, tmp_path: Path
) -> None:
    clock = Clock()
    clerk = synapse.register(unique("anna"))
    async with running_bot(
        synapse, tmp_path, clock, dispatcher=True, staff={"anna": clerk.user_id}
    ) as bot:
        anna = Talk(bot, await bot.person(account=clerk, display_name="Anna"))
        await anna.opened(encrypted=True)
        maria = Talk(bot, await bot.person("maria", display_name="Maria"))
        reference = await book(maria, encrypted=True)
        await anna.wait_seen(reference)  # the clerk is told of the booking (outbox)
        clock.advance(minutes=50)

        await run_panel(anna, reference)
        await maria.wait_seen("#jwt=")  # the citizen's link to the call
        # A reaction on the panel (the newest message) redraws it in place (m.replace).
        panel = next(s for s in reversed(anna.person.seen) if f"Sessió {reference}" in s.body)
        [redrawn] = await anna.react("Actualitzar")
        assert redrawn.replaces == (panel.replaces or panel.event_id), redrawn
        assert f"Sessió {reference}" in redrawn.body and redrawn.encrypted
        # After something else was said, the panel asked again is a new message at the end.
        [*_, again] = await anna.say("hola")
        assert again.replaces is None and f"Sessió {reference}" in again.body
        await anna.choose("Documents")
        await anna.choose("Demanar DNI")
        await maria.wait_seen("Ara necessito aquest document")
        maria.person.unread()
        await maria.send_file(document_photo(), "dni.jpg", "image/jpeg")
        assert "Gràcies, ja l'he rebut" in maria.text, maria.text
        await anna.wait_seen("s'ha rebut")

        await fill_and_send(anna)
        await maria.wait_seen("Hi estic d'acord")
        await maria.choose("Hi estic d'acord")
        assert "Hem registrat la teva conformitat" in maria.text

        await anna.choose("Justificant")
        await maria.person.wait_for(lambda: any(s.file for s in maria.person.seen))
        [receipt] = [s for s in maria.person.seen if s.file]
        assert receipt.msgtype == "m.file" and receipt.encrypted
        assert "file" in receipt.content and "url" not in receipt.content  # encrypted attachment
        assert receipt.file is not None
        text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(receipt.file)).pages)
        assert "Justificant de registre d'entrada" in text and reference in text
        # The receipt's outcome reaches the clerk by the outbox, with the panel redrawn:
        # only then does "Finalitzar" answer the panel she reads (not an older one).
        await panel_after(anna, "emès i enviat a la persona")
        await anna.choose("Finalitzar")
        await anna.choose("Finalitzar la sessió")
        assert "ha finalitzat" in anna.text


async def test_session_with_the_clerk_on_matrix_and_the_citizen_on_telegram(
    synapse: Synapse, tmp_path: Path
) -> None:
    from bot.app import build_app
    from bot.channels.telegram import Backoff, Limits
    from bot.channels.telegram import build_channel as telegram_channel
    from tests.e2e.telegram.conftest import RunningBot
    from tests.fakes.telegram_api import RateLimits, TelegramEmulator

    from .conftest import MatrixBot, matrix_settings, staff_entries

    clock = Clock()
    clerk = synapse.register(unique("anna"))
    account = synapse.register(unique("oac"))
    async with TelegramEmulator(limits=RateLimits.off()) as emu:
        settings = matrix_settings(
            synapse,
            tmp_path,
            account,
            staff=staff_entries({"anna": clerk.user_id}),
            telegram={"enabled": True, "token": emu.token, "base_url": emu.base_url},
        )
        app = build_app(settings, clock=clock)  # both channels, wired by bot/app.py
        quick = Backoff(attempts=5, within=20.0, first=0.05, cap=0.5)
        tg = telegram_channel(
            settings,
            app.engine,
            limits=Limits.off(),
            replies=quick,
            proactive=quick,
            poll_timeout=5,
        )
        app.channels["telegram"] = tg
        await app.prepare_database()
        bot = MatrixBot(synapse, app, account, tmp_path)
        await bot.channel.start()
        await tg.start()
        app.dispatcher.start()
        app.effects.start()
        try:
            await bot.channel.wait_synced()
            telegram = RunningBot(emu, app, tg)
            maria = telegram.person(emu.user(id=6911, first_name="Maria", language_code="ca"))
            await maria.command("start")
            for label in ("Català", "D'acord", "Demanar cita", "Volant", "dl. 30", "9:00"):
                await maria.press(label)
            await maria.press("Confirmar")
            reference = maria.text.split("La teva cita és la ")[1].split(".")[0]

            anna = Talk(bot, await bot.person(account=clerk))
            await anna.opened(encrypted=True)
            clock.advance(minutes=50)
            await run_panel(anna, reference)
            await emu.wait_for(lambda: any("#jwt=" in (m.text or "") for m in maria.user.inbox), 10)
            await anna.choose("Documents")
            await anna.choose("Demanar DNI")
            await emu.wait_for(
                lambda: any("Ara necessito" in (m.text or "") for m in maria.user.inbox), 10
            )
            await maria.send_photo(document_photo())
            assert "Gràcies, ja l'he rebut" in maria.text, maria.text
            await anna.wait_seen("s'ha rebut")
            await fill_and_send(anna)
            await emu.wait_for(
                lambda: any("Hi estic d'acord" in m.button_texts for m in maria.user.inbox), 10
            )
            maria._new()
            await maria.press("Hi estic d'acord")
            await anna.choose("Justificant")
            await emu.wait_for(lambda: any(m.document for m in maria.user.inbox), 10)
            await panel_after(anna, "emès i enviat a la persona")
            await anna.choose("Finalitzar")
            await anna.choose("Finalitzar la sessió")
            assert "ha finalitzat" in anna.text
        finally:
            for person in bot.people:
                await person.stop()
            await app.close()
