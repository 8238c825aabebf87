"""Users and their conversation state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.model import (
    ConversationState,
    Role,
    User,
)
from domain.schedule import StaffMember
from handlers.ports import Clock
from storage.models import (
    ConversationRow,
    UserRow,
)


def to_user(row: UserRow, staff: dict[tuple[str, str], StaffMember]) -> User:
    member = staff.get((row.channel, row.external_id))
    roles: frozenset[Role] = frozenset({Role.CITIZEN})
    if member is not None:
        roles = frozenset(Role(r) for r in member.roles)
    return User(
        id=row.id,
        channel=row.channel,
        external_id=row.external_id,
        address=row.address,
        display_name=row.display_name,
        language=row.language,
        privacy_accepted_at=row.privacy_accepted_at,
        email=row.email,
        unreachable=row.unreachable,
        staff_id=member.id if member else None,
        roles=roles,
    )


class SqlUsers:
    def __init__(
        self,
        session: AsyncSession,
        staff: dict[tuple[str, str], StaffMember],
        conversations: dict[int, ConversationRow | None],
        clock: Clock,
    ) -> None:
        self._s = session
        self._staff = staff
        self._conversations = conversations
        self._clock = clock

    async def get_or_create(
        self, channel: str, external_id: str, *, address: str, display_name: str, language: str
    ) -> User:
        # The user and their conversation in one round trip: every turn needs both.
        query = (
            select(UserRow, ConversationRow)
            .outerjoin(ConversationRow, ConversationRow.user_id == UserRow.id)
            .where(UserRow.channel == channel, UserRow.external_id == external_id)
        )
        found = (await self._s.execute(query)).one_or_none()
        row = found[0] if found else None
        if found is not None:
            self._conversations[found[0].id] = found[1]
        if row is None:
            row = UserRow(
                channel=channel,
                external_id=external_id,
                address=address,
                display_name=display_name,
                language=language,
                created_at=self._clock.now(),
            )
            try:
                async with self._s.begin_nested():
                    self._s.add(row)
            except IntegrityError:  # created by a concurrent turn of the same person
                again = select(UserRow).where(
                    UserRow.channel == channel, UserRow.external_id == external_id
                )
                row = (await self._s.execute(again)).scalar_one()
        else:
            if display_name and row.display_name != display_name:
                row.display_name = display_name
            if address and row.address != address:
                row.address = address
        return to_user(row, self._staff)

    async def get(self, user_id: int) -> User:
        row = await self._s.get_one(UserRow, user_id)
        return to_user(row, self._staff)

    async def set_language(self, user_id: int, language: str) -> None:
        await self._s.execute(
            update(UserRow).where(UserRow.id == user_id).values(language=language)
        )

    async def accept_privacy(self, user_id: int, at: datetime) -> None:
        await self._s.execute(
            update(UserRow).where(UserRow.id == user_id).values(privacy_accepted_at=at)
        )

    async def set_email(self, user_id: int, email: str) -> None:
        await self._s.execute(update(UserRow).where(UserRow.id == user_id).values(email=email))

    async def set_unreachable(self, user_id: int, unreachable: bool) -> None:
        await self._s.execute(
            update(UserRow).where(UserRow.id == user_id).values(unreachable=unreachable)
        )

    async def find_staff_user(self, staff_id: str) -> User | None:
        keys = [key for key, member in self._staff.items() if member.id == staff_id]
        if not keys:
            return None
        conditions = [
            and_(UserRow.channel == channel, UserRow.external_id == ext) for channel, ext in keys
        ]
        query = select(UserRow).where(or_(*conditions)).order_by(UserRow.id.desc()).limit(1)
        row = (await self._s.execute(query)).scalar_one_or_none()
        return to_user(row, self._staff) if row else None


class SqlConversations:
    """Conversation state. Rows loaded in this unit of work are kept, so saving the state
    back costs one UPDATE and no second SELECT."""

    def __init__(
        self, session: AsyncSession, rows: dict[int, ConversationRow | None], clock: Clock
    ) -> None:
        self._s = session
        self._rows = rows
        self._clock = clock

    async def _row(self, user_id: int) -> ConversationRow | None:
        if user_id not in self._rows:
            self._rows[user_id] = await self._s.get(ConversationRow, user_id)
        return self._rows[user_id]

    async def load(self, user_id: int) -> ConversationState:
        row = await self._row(user_id)
        if row is None:
            return ConversationState()
        return ConversationState(flow=row.flow, step=row.step, data=dict(row.data or {}))

    async def save(self, user_id: int, state: ConversationState) -> None:
        row = await self._row(user_id)
        # Retention purges idle conversations by this stamp, against the same clock.
        now = self._clock.now()
        if row is None:
            row = ConversationRow(
                user_id=user_id,
                flow=state.flow,
                step=state.step,
                data=dict(state.data),
                updated_at=now,
            )
            self._s.add(row)
            self._rows[user_id] = row
        else:
            row.flow, row.step, row.data = state.flow, state.step, dict(state.data)
            row.updated_at = now
