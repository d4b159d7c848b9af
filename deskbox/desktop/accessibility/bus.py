"""The connection to the desktop's accessibility bus (AT-SPI over D-Bus).

Applications publish their trees on a bus of their own, which the session bus hands out
(``org.a11y.Bus.GetAddress``; asking starts at-spi-bus-launcher when it is not running).
One connection serves every request; it is opened on first use and again after it drops.

Calls are pipelined: a tree walk sends many before the first answer comes back, which is
what makes a whole tree cost tens of milliseconds rather than seconds. The number in
flight is capped, because dbus-fast's writer does not survive a full socket buffer.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.errors import DBusError

from ...errors import CapabilityError, DesktopUnavailableError

IN_FLIGHT = 48
CONNECT_TIMEOUT = 5.0
Ref = tuple[str, str]
"""An accessible object: its application's bus name and its object path."""

NULL_PATH = "/org/a11y/atspi/null"


class CallFailed(Exception):
    """The application answered a call with a D-Bus error (object gone, no such interface)."""

    def __init__(self, error_name: str) -> None:
        super().__init__(error_name)
        self.error_name = error_name


class AccessibilityBus:
    def __init__(self, session_bus_address: str | None = None) -> None:
        self._session_address = session_bus_address or os.environ.get("DBUS_SESSION_BUS_ADDRESS", "")
        self._bus: MessageBus | None = None
        self._connecting = asyncio.Lock()
        self._in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def call(
        self, ref: Ref, interface: str, member: str, signature: str = "", body: Sequence[Any] = ()
    ) -> list[Any]:
        bus = await self._connected()
        message = _message(ref, interface, member, signature, body)
        async with self._in_flight:
            try:
                reply = await bus.call(message)
            except (OSError, EOFError) as exc:
                self._drop()
                raise DesktopUnavailableError(f"the accessibility bus went away: {exc}") from exc
        if reply is None or reply.message_type == MessageType.ERROR:
            raise CallFailed(reply.error_name if reply is not None and reply.error_name else "no reply")
        return list(reply.body)

    async def pid_of(self, bus_name: str) -> int | None:
        """The process behind an application's connection, as the bus daemon knows it."""
        try:
            (pid,) = await self.call(
                ("org.freedesktop.DBus", "/org/freedesktop/DBus"),
                "org.freedesktop.DBus",
                "GetConnectionUnixProcessID",
                "s",
                [bus_name],
            )
        except CallFailed:
            return None
        return int(pid)

    async def close(self) -> None:
        self._drop()

    def _drop(self) -> None:
        if self._bus is not None:
            self._bus.disconnect()
            self._bus = None

    async def _connected(self) -> MessageBus:
        if self._bus is not None and self._bus.connected:
            return self._bus
        async with self._connecting:
            if self._bus is None or not self._bus.connected:
                self._bus = await asyncio.wait_for(self._connect(), CONNECT_TIMEOUT)
            return self._bus

    async def _connect(self) -> MessageBus:
        address = os.environ.get("AT_SPI_BUS_ADDRESS") or await self._address_from_session()
        try:
            return await MessageBus(bus_address=address).connect()
        except (OSError, DBusError, ValueError) as exc:
            raise DesktopUnavailableError(f"cannot reach the accessibility bus: {exc}") from exc

    async def _address_from_session(self) -> str:
        if not self._session_address:
            raise CapabilityError(
                "this desktop has no session bus, so no accessibility bus: run it with"
                " `deskbox sandbox` or set DBUS_SESSION_BUS_ADDRESS",
                capability="accessibility",
            )
        try:
            session = await MessageBus(bus_address=self._session_address).connect()
        except (OSError, DBusError, ValueError) as exc:
            raise DesktopUnavailableError(f"cannot reach the session bus: {exc}") from exc
        try:
            bus_ref = ("org.a11y.Bus", "/org/a11y/bus")
            reply = await session.call(_message(bus_ref, "org.a11y.Bus", "GetAddress"))
            if reply is None or reply.message_type == MessageType.ERROR:
                raise CapabilityError(
                    "the desktop has no accessibility bus (at-spi2-core is not installed)",
                    capability="accessibility",
                )
            # Applications that ask before they publish (Chromium, Qt) see it on: an agent
            # is an assistive technology.
            enable = ["org.a11y.Status", "IsEnabled", Variant("b", True)]
            await session.call(_message(bus_ref, "org.freedesktop.DBus.Properties", "Set", "ssv", enable))
            return str(reply.body[0])
        finally:
            session.disconnect()


def _message(ref: Ref, interface: str, member: str, signature: str = "", body: Sequence[Any] = ()) -> Message:
    return Message(
        destination=ref[0],
        path=ref[1],
        interface=interface,
        member=member,
        signature=signature,
        body=list(body),
    )
