"""The e-mail that carries an invite to the patient (iMIP, RFC 6047), built with stdlib email.

Shape of a REQUEST or CANCEL::

    multipart/mixed
      multipart/alternative
        text/plain
        text/html
        text/calendar; method=REQUEST|CANCEL   <- what Outlook and Gmail turn into an invite
      application/ics (attachment "invite.ics") <- for clients that only offer attachments

A REMINDER is text and HTML only: the calendar already holds the appointment. Subjects name
the clinic and the date, nothing clinical; the bodies come from templates in
``scheduler/templates/invites/email/``, the HTML one autoescaped.
Pure module: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from zoneinfo import ZoneInfo

from scheduler.invites.ics import (
    DEFAULT_ALARMS,
    Clinic,
    Invite,
    build_invite,
    preparation_text,
    render,
)
from scheduler.vocabulary import MessageKind


def build_message(
    invite: Invite,
    clinic: Clinic,
    kind: MessageKind,
    *,
    message_id: str,
    now: datetime,
    alarms: Sequence[timedelta] = DEFAULT_ALARMS,
    link: str | None = None,
) -> EmailMessage:
    """The message for ``invite``, From the clinic (the ORGANIZER) To the patient.

    ``link`` is the invite's own address (no login), for clients that show neither the
    calendar part nor the attachment; a cancellation carries none.

    A CANCEL must be about a cancelled invite and the other kinds about a live one, so that
    the calendar part never contradicts the words around it.
    """
    if invite.patient_email is None:
        raise ValueError(f"appointment {invite.uid} has no patient e-mail address")
    if invite.cancelled != (kind is MessageKind.CANCEL):
        state = "cancelled" if invite.cancelled else "not cancelled"
        raise ValueError(f"a {kind} message for an appointment that is {state}")
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    context = {
        "kind": kind.value,
        "clinic": clinic,
        "start": invite.start.astimezone(ZoneInfo(invite.timezone)),
        "details": preparation_text(invite, clinic),
        "link": None if invite.cancelled else link,
    }
    subject = render("invites/email/subject.txt", **context)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = Address(display_name=clinic.name, addr_spec=clinic.email)
    message["To"] = Address(addr_spec=invite.patient_email)
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = message_id
    message.set_content(render("invites/email/message.txt", **context), cte="quoted-printable")
    message.add_alternative(
        render("invites/email/message.html", subject=subject, **context),
        subtype="html",
        cte="quoted-printable",
    )
    if kind is MessageKind.REMINDER:
        return message
    ics = build_invite(invite, clinic, now=now, alarms=alarms)
    # RFC 6047 §2.4: the method on the content type is what makes a client offer the invite.
    # Base64 keeps the calendar's CRLFs intact on the way.
    message.add_alternative(
        ics,
        maintype="text",
        subtype="calendar",
        params={"method": "CANCEL" if invite.cancelled else "REQUEST", "charset": "utf-8"},
    )
    message.add_attachment(ics, maintype="application", subtype="ics", filename="invite.ics")
    return message
