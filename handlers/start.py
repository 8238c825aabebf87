"""First contact: language and the privacy notice (GDPR art. 13, first layer)."""

from __future__ import annotations

from handlers.context import Audience, Ctx, Step
from handlers.i18n import LANGUAGE_NAMES, normalise_language

FLOW = "start"
AUDIENCE = Audience.ANYONE
# Where a citizen may be sent on once the notice is accepted (names kept in their state).
AFTER_PRIVACY = frozenset({"book", "menu"})


async def begin(ctx: Ctx) -> None:
    """/start: greet, and let the person pick a language (their client's is preselected).
    Office accounts are greeted as such and go straight to their menu."""
    ctx.end()
    member = ctx.office.staff_member(ctx.user.staff_id or "")
    if member is not None:
        ctx.say(ctx.t("start.staff_hello", name=member.name))
        await ctx.go("menu")
        return
    chosen = normalise_language(ctx.turn.language_hint, "")
    if ctx.turn.language_chosen and chosen in ctx.office.languages:
        await ctx.uow.users.set_language(ctx.user.id, chosen)
        ctx.user = await ctx.uow.users.get(ctx.user.id)
        ctx.say(ctx.t("start.hello", council=ctx.office.council.name))
        if ctx.user.privacy_accepted_at is None:
            await ask_privacy(ctx)
        else:
            await ctx.go("menu")
        return
    ctx.say(ctx.t("start.hello", council=ctx.office.council.name))
    await ask_language(ctx)


async def ask_language(ctx: Ctx) -> None:
    choices = [(code, LANGUAGE_NAMES[code]) for code in ctx.office.languages]
    ctx.ask(ctx.t("start.language"), choices, flow=FLOW, step="language", back=False, columns=3)


async def choose_language(ctx: Ctx) -> None:
    """/language from anywhere: the flow in progress is left, nothing is lost."""
    ctx.end()
    await ask_language(ctx)


async def on_language(ctx: Ctx) -> None:
    assert ctx.choice in ctx.office.languages  # a choice step: only its options reach here
    await ctx.uow.users.set_language(ctx.user.id, ctx.choice)
    ctx.user = await ctx.uow.users.get(ctx.user.id)
    await after_language(ctx)


async def after_language(ctx: Ctx) -> None:
    if ctx.user.privacy_accepted_at is None and not ctx.user.is_staff:
        await ask_privacy(ctx)
    else:
        ctx.say(ctx.t("start.language_set"))
        ctx.end()
        await ctx.go("menu")


async def ask_privacy(ctx: Ctx) -> None:
    council = ctx.office.council
    ctx.ask(
        ctx.t(
            "privacy.notice", controller=council.controller_in(ctx.lang), url=council.privacy_url
        ),
        [("accept", ctx.t("privacy.accept")), ("more", ctx.t("privacy.more"))],
        flow=FLOW,
        step="privacy",
        back=False,
    )


async def read_privacy(ctx: Ctx, *, then: str = "") -> None:
    """The notice first; `then` names the conversation to go on with once accepted."""
    ctx.end()
    if then:
        ctx.data["after"] = then
    await ask_privacy(ctx)


async def on_privacy(ctx: Ctx) -> None:
    council = ctx.office.council
    if ctx.choice == "more":
        ctx.say(
            ctx.t(
                "privacy.details",
                controller=council.controller_in(ctx.lang),
                dpo=council.dpo_contact,
                retention=council.retention_in(ctx.lang),
                url=council.privacy_url,
            )
        )
        await ask_privacy(ctx)
        return
    await ctx.uow.users.accept_privacy(ctx.user.id, ctx.now)
    ctx.user = await ctx.uow.users.get(ctx.user.id)
    ctx.say(ctx.t("privacy.thanks"))
    after = ctx.data.get("after")
    ctx.end()
    await ctx.go(after if after in AFTER_PRIVACY else "menu")


STEPS = {
    "language": Step(enter=ask_language, handle=on_language),
    "privacy": Step(enter=ask_privacy, handle=on_privacy),
}
ENTRIES = {"start": begin, "start.language": choose_language, "start.privacy": read_privacy}
