"""The SIU worker: sends queued messages over MLLP, in order per appointment, until an AA.

Each delivery is claimed, sent and marked in one transaction. On PostgreSQL the claim is
``FOR UPDATE SKIP LOCKED``, so several workers share the queue and never send the same
row; on SQLite the transaction begins IMMEDIATE, so workers take turns. A delivery is
claimed only when no earlier message of its appointment to its receiver is still
pending, so a receiver never gets an S15 before the S12 it cancels.

An AA marks it sent; AE or AR marks it rejected (listed for admins: the receiver
refuses it, sending it again would not help). No answer in time, a refused connection
or an answer that is not the ACK of this message leaves it pending for another attempt
after a capped exponential backoff, and dead after the last one.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, sessionmaker

from scheduler.db import begin_write
from scheduler.hl7v2.messages import AckCode, UnreadableAck, ack_error_code, addressed, read_ack
from scheduler.hl7v2.models import DeliveryStatus, SiuDelivery
from scheduler.polling import keep_passing
from scheduler.settings import Hl7Receiver, Hl7Settings

log = logging.getLogger(__name__)

# MLLP framing (HL7 v2.5.1 Appendix C): <VT> message <FS><CR>.
START_BLOCK: Final = b"\x0b"
END_BLOCK: Final = b"\x1c"
CARRIAGE_RETURN: Final = b"\x0d"
LONGEST_ACK: Final = 64 * 1024  # a receiver sending more than this is not acknowledging

Exchange = Callable[[Hl7Receiver, str, float], str]


def exchange(receiver: Hl7Receiver, message: str, timeout: float) -> str:
    """Send one framed message and return the framed answer, within ``timeout`` seconds
    from connecting to the end of the answer."""
    deadline = time.monotonic() + timeout
    with socket.create_connection((receiver.host, receiver.port), timeout=timeout) as conn:
        conn.sendall(START_BLOCK + message.encode() + END_BLOCK + CARRIAGE_RETURN)
        answer = b""
        while END_BLOCK not in answer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no ACK in time")
            conn.settimeout(remaining)
            chunk = conn.recv(4096)
            if not chunk:
                raise ConnectionError("closed before an ACK")
            answer += chunk
            if len(answer) > LONGEST_ACK:
                raise UnreadableAck("an answer too long to be an ACK")
    start = answer.find(START_BLOCK)
    if start < 0:
        raise UnreadableAck("an answer without MLLP framing")
    return answer[start + 1 : answer.index(END_BLOCK)].decode("utf-8", errors="replace")


@dataclass
class PassResult:
    """What one pass over the due deliveries did."""

    sent: int = 0
    rejected: int = 0
    retried: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.rejected + self.retried + self.dead


def retry_delay(settings: Hl7Settings, attempts: int) -> timedelta:
    """Exponential backoff: base, 2 x base, 4 x base ... up to the cap."""
    delay: timedelta = settings.retry_base * 2 ** (attempts - 1)
    return min(delay, settings.retry_cap)


def _claim(session: Session, settings: Hl7Settings, now: datetime) -> SiuDelivery | None:
    """The next due delivery with nothing earlier of its appointment still pending for
    its receiver; only for receivers configured now."""
    earlier = aliased(SiuDelivery)
    waiting = (
        select(earlier.id)
        .where(
            earlier.receiver == SiuDelivery.receiver,
            earlier.appointment_id == SiuDelivery.appointment_id,
            earlier.status == DeliveryStatus.PENDING,
            earlier.id < SiuDelivery.id,
        )
        .exists()
    )
    return session.scalars(
        select(SiuDelivery)
        .where(
            SiuDelivery.status == DeliveryStatus.PENDING,
            SiuDelivery.next_attempt_at <= now,
            SiuDelivery.receiver.in_(settings.receiver_names),
            ~waiting,
        )
        .order_by(SiuDelivery.next_attempt_at, SiuDelivery.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=SiuDelivery)
    ).first()


def _error_of(exc: Exception) -> str:
    """The failure in our words: never the receiver's answer (it may repeat the patient)."""
    errno = getattr(exc, "errno", None)
    reason = str(exc) if isinstance(exc, UnreadableAck) else ""
    return (
        type(exc).__name__ + (f" {errno}" if errno else "") + (f": {reason}" if reason else "")
    )[:200]


Outcome = DeliveryStatus | Literal["retry"] | None


def deliver_one(
    sessions: sessionmaker[Session],
    settings: Hl7Settings,
    now: datetime,
    send: Exchange = exchange,
) -> Outcome:
    """Claim the next due delivery and send it; None when nothing is due."""
    receivers = {receiver.name: receiver for receiver in settings.receivers}
    with sessions() as session, session.begin():
        begin_write(session)
        delivery = _claim(session, settings, now)
        if delivery is None:
            return None
        receiver = receivers[delivery.receiver]
        message = delivery.message
        delivery.attempts += 1
        delivery.updated_at = now
        try:
            text = addressed(
                message.body, receiver.receiving_application, receiver.receiving_facility
            )
            answer = send(receiver, text, settings.ack_timeout)
            code = read_ack(answer, message.control_id)
        except (OSError, UnreadableAck) as exc:
            return _failed(delivery, settings, now, exc)
        delivery.ack_code = code.value
        if code is AckCode.ACCEPTED:
            delivery.status = DeliveryStatus.SENT
            delivery.sent_at = now
            delivery.last_error = None
            log.info("SIU delivery %s sent to %s", delivery.id, receiver.name)
        else:
            delivery.status = DeliveryStatus.REJECTED
            delivery.last_error = f"{code.value} {ack_error_code(answer)}".strip()
            log.warning(
                "SIU delivery %s rejected by %s (%s)",
                delivery.id,
                receiver.name,
                delivery.last_error,
            )
        return delivery.status


def _failed(delivery: SiuDelivery, settings: Hl7Settings, now: datetime, exc: Exception) -> Outcome:
    delivery.last_error = _error_of(exc)
    log.warning(
        "SIU delivery %s to %s: attempt %s failed (%s)",
        delivery.id,
        delivery.receiver,
        delivery.attempts,
        delivery.last_error,
    )
    if delivery.attempts >= settings.max_attempts:
        delivery.status = DeliveryStatus.DEAD
        return delivery.status
    delivery.next_attempt_at = now + retry_delay(settings, delivery.attempts)
    return "retry"


def deliver_due(
    sessions: sessionmaker[Session],
    settings: Hl7Settings,
    clock: Callable[[], datetime],
    send: Exchange = exchange,
) -> PassResult:
    """One pass: every delivery due now, each in its own transaction."""
    result = PassResult()
    while (outcome := deliver_one(sessions, settings, clock(), send)) is not None:
        if outcome == "retry":
            result.retried += 1
        elif outcome is DeliveryStatus.SENT:
            result.sent += 1
        elif outcome is DeliveryStatus.REJECTED:
            result.rejected += 1
        else:
            result.dead += 1
    return result


def run(
    sessions: sessionmaker[Session],
    settings: Hl7Settings,
    clock: Callable[[], datetime],
    *,
    poll: timedelta,
    stop: threading.Event,
) -> None:
    """Pass after pass until ``stop`` is set; waits ``poll`` when nothing was due."""
    keep_passing(lambda: deliver_due(sessions, settings, clock), poll=poll, stop=stop, name="SIU")
