"""Token minting rate (target >= 5,000 tokens/s with HS256).

Prints ``BENCH token_mint_rate <n> tokens/s`` (HS256) and
``BENCH token_mint_rate_rs256 <n> tokens/s`` (RS256, 2048-bit key).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jitsi.rooms import new_room_name
from jitsi.tokens import JitsiAuth, Participant, mint_token, session_window

SECONDS = 2.0
# A fixed session start: minting cost does not depend on the date, and the benchmark then
# never reads the machine's clock (only perf_counter, for the rate).
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _rate(auth: JitsiAuth, seconds: float) -> float:
    start = START
    nbf, exp = session_window(start, start + timedelta(minutes=20), 10, 30)
    rooms = [new_room_name() for _ in range(64)]
    users = [Participant(id=f"citizen-{i}", name=f"Citizen {i}") for i in range(64)]
    count = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        for i in range(200):
            mint_token(
                auth,
                room=rooms[i % 64],
                user=users[i % 64],
                role="citizen" if i % 2 else "staff",
                not_before=nbf,
                expires=exp,
            )
        count += 200
        now = time.perf_counter()
        if now >= deadline:
            return count / (now - t0)


def main() -> None:
    hs = JitsiAuth(app_id="videotramit", app_secret="b" * 64)
    print(f"BENCH token_mint_rate {_rate(hs, SECONDS):.0f} tokens/s", flush=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    rs = JitsiAuth(app_id="videotramit", private_key_pem=pem, kid="videotramit/bench")
    print(f"BENCH token_mint_rate_rs256 {_rate(rs, SECONDS):.0f} tokens/s", flush=True)


if __name__ == "__main__":
    main()
