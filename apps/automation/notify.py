"""Notifications (filled in by the notifications part of issue 16)."""


def notifications_tick() -> None:
    return None
