"""The mail queue's worker: one round claims due rows and does what their kind says.

web/app.py runs a round every TWOSTEP_MAIL_QUEUE_INTERVAL_S seconds in each server process (on
its own schedule, never woken by a request: when a mail goes out says nothing about which request
asked for it); tests call drain_once directly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from twostep.bootstrap import Container
from twostep.services.notifications import notices
from twostep.services.records import mail_queue
from twostep.services.signin import passwords

log = logging.getLogger("twostep.mail_queue")

Handler = Callable[..., None]  # (container, payload, *, first_attempt) -> None; raises to retry

HANDLERS: dict[str, Handler] = {
    passwords.PASSWORD_RESET: passwords.send_password_reset,
    notices.QUEUED_EMAIL: notices.send_queued_email,
}


def drain_once(c: Container, *, stop: threading.Event | None = None) -> int:
    """Sends what is due, one row at a time, until nothing is due or `stop` is set (shutdown:
    the row in hand is finished first). The number of rows handled."""
    handled = 0
    while not (stop is not None and stop.is_set()):
        try:
            item = mail_queue.claim(c)
        except mail_queue.UnreadableRow as exc:
            log.error("%s", exc)
            continue
        if item is None:
            break
        handled += 1
        _handle(c, item)
    return handled


def _handle(c: Container, item: mail_queue.Claimed) -> None:
    handler = HANDLERS.get(item.kind)
    if handler is None:
        log.error("mail queue row %s of unknown kind %r dropped", item.id, item.kind)
        mail_queue.finish(c, item.id, item.claim_id)
        return
    try:
        handler(c, item.payload, first_attempt=item.attempt == 1)
    except Exception as exc:  # noqa: BLE001 (a failed send or an outage: tried again later)
        again = mail_queue.retry_later(c, item)
        # Never the address or the server's answer (it may quote the address): the kind and why.
        log.warning(
            "queued %s mail not sent (attempt %d of %d%s): %s",
            item.kind,
            item.attempt,
            mail_queue.MAX_ATTEMPTS,
            "" if again else ", given up",
            type(exc).__name__,
        )
        return
    mail_queue.finish(c, item.id, item.claim_id)
