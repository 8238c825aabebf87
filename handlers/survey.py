"""The satisfaction survey after a completed session: a score from 0 to 10, "would you
use it again?", an optional comment. One per appointment, never asked twice; its score
buttons keep working from the same message later. Opinions, not part of the procedure:
stored apart from the evidence chain."""

from __future__ import annotations

import re

from handlers.context import NAV_CANCEL, Audience, Ctx, Step, Takes
from handlers.engine import clean_text, fold

FLOW = "survey"
AUDIENCE = Audience.CITIZEN
MAX_COMMENT = 1000

NUMBER_WORDS = {
    # ca
    "zero": 0, "u": 1, "un": 1, "una": 1, "dos": 2, "dues": 2, "tres": 3, "quatre": 4,
    "cinc": 5, "sis": 6, "set": 7, "vuit": 8, "nou": 9, "deu": 10,
    # es
    "cero": 0, "uno": 1, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8,
    "nueve": 9, "diez": 10,
    # en
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_WHOLE = re.compile(r"(\d{1,2})(?:\s*/\s*10)?")
_DECIMAL = re.compile(r"\d{1,2}\s*[.,']\s*\d+(?:\s*/\s*10)?")


def read_score(text: str) -> int | str:
    """A typed score: 0-10 as digits ("9", "10/10") or words ("deu", "nueve", "ten");
    otherwise the catalog key of what to say ("9,5": a whole number, please)."""
    typed = text.strip()
    whole = _WHOLE.fullmatch(typed)
    if whole and int(whole.group(1)) <= 10:
        return int(whole.group(1))
    if _DECIMAL.fullmatch(typed):
        return "survey.whole_number"
    word = NUMBER_WORDS.get(fold(typed))
    return word if word is not None else "survey.score_help"


async def _appointment_id(ctx: Ctx) -> int | None:
    raw = ctx.data.get("id")
    if not isinstance(raw, int):
        return None
    appointment = await ctx.uow.appointments.get(raw)
    if appointment is None or appointment.citizen_id != ctx.user.id:
        return None
    return appointment.id


async def ask_score(ctx: Ctx) -> None:
    options = [(str(n), str(n)) for n in range(11)]
    ctx.ask(ctx.t("survey.score_help"), options, flow=FLOW, step="score", back=False, columns=6)


async def _score(ctx: Ctx, appointment_id: int, score: int) -> None:
    answered = await ctx.uow.notices.survey(appointment_id)
    if answered is not None and answered.score is not None:
        ctx.say(ctx.t("survey.already"))
        ctx.end()
        await ctx.go("menu")
        return
    await ctx.uow.notices.answer_survey(
        appointment_id, now=ctx.now, channel=ctx.user.channel, score=score
    )
    ctx.end()
    ctx.data["id"] = appointment_id
    await ask_again(ctx)


async def on_score(ctx: Ctx) -> None:
    appointment_id = await _appointment_id(ctx)
    if appointment_id is None:
        ctx.say(ctx.t("survey.not_found"))
        ctx.end()
        await ctx.go("menu")
        return
    read = int(ctx.choice) if ctx.choice is not None else read_score(ctx.text)
    if isinstance(read, str):
        ctx.say(ctx.t(read))
        await ask_score(ctx)
        return
    await _score(ctx, appointment_id, read)


async def pressed_score(ctx: Ctx, *, id: int, score: int) -> None:  # noqa: A002
    """A score button of the survey message, pressed now or days later."""
    ctx.data["id"] = int(id)
    appointment_id = await _appointment_id(ctx)
    if appointment_id is None or not 0 <= int(score) <= 10:
        ctx.say(ctx.t("survey.not_found"))
        ctx.end()
        await ctx.go("menu")
        return
    await _score(ctx, appointment_id, int(score))


async def ask_again(ctx: Ctx) -> None:
    options = [("yes", ctx.t("survey.yes")), ("no", ctx.t("survey.no"))]
    ctx.ask(ctx.t("survey.again"), options, flow=FLOW, step="again", back=False)


async def on_again(ctx: Ctx) -> None:
    appointment_id = await _appointment_id(ctx)
    if appointment_id is None:
        ctx.end()
        await ctx.go("menu")
        return
    await ctx.uow.notices.answer_survey(
        appointment_id, now=ctx.now, channel=ctx.user.channel, again=ctx.choice == "yes"
    )
    await ask_comment(ctx)


async def ask_comment(ctx: Ctx) -> None:
    ctx.ask(
        ctx.t("survey.comment"),
        [("skip", ctx.t("survey.no_comment"))],
        flow=FLOW,
        step="comment",
        back=False,
        cancel=False,
    )


async def on_comment(ctx: Ctx) -> None:
    appointment_id = await _appointment_id(ctx)
    if appointment_id is not None and ctx.choice not in ("skip", NAV_CANCEL) and ctx.text:
        comment = clean_text(ctx.text, MAX_COMMENT).strip()
        await ctx.uow.notices.answer_survey(
            appointment_id, now=ctx.now, channel=ctx.user.channel, comment=comment
        )
    ctx.say(ctx.t("survey.thanks"))
    ctx.end()
    await ctx.go("menu")


STEPS = {
    "score": Step(enter=ask_score, handle=on_score, takes=Takes.TEXT),
    "again": Step(enter=ask_again, handle=on_again),
    "comment": Step(enter=ask_comment, handle=on_comment, takes=Takes.TEXT),
}
ENTRIES = {"survey.score": pressed_score}
