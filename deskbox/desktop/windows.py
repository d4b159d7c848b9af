"""Top-level windows: list them with titles, find the active one, focus one.

Uses the window manager's EWMH properties (_NET_CLIENT_LIST, _NET_ACTIVE_WINDOW), which
XFCE and Openbox keep. Without a window manager it falls back to the root's mapped
children that have a title. Methods must run on the display's X thread.
"""

from __future__ import annotations

import builtins
from typing import Any

from Xlib import X, Xatom
from Xlib import error as xerror
from Xlib.protocol import event as xevent

from ..errors import NotFoundError
from ..models import Window
from .xthread import XThread


class Windows:
    def __init__(self, xthread: XThread) -> None:
        self._xthread = xthread

    def _atom(self, name: str) -> int:
        return int(self._xthread.connection.intern_atom(name))

    def _root(self) -> Any:
        return self._xthread.connection.screen().root

    def _window_ids(self) -> list[int]:
        prop = self._root().get_full_property(self._atom("_NET_CLIENT_LIST"), Xatom.WINDOW)
        if prop is not None:
            return [int(w) for w in prop.value]
        children = self._root().query_tree().children
        return [child.id for child in children if child.get_attributes().map_state == X.IsViewable]

    def active_id(self) -> int | None:
        prop = self._root().get_full_property(self._atom("_NET_ACTIVE_WINDOW"), Xatom.WINDOW)
        if prop is not None and len(prop.value) and int(prop.value[0]):
            return int(prop.value[0])
        focus = self._xthread.connection.get_input_focus().focus
        return int(focus.id) if hasattr(focus, "id") and focus.id > 1 else None

    def list(self) -> list[Window]:
        active = self.active_id()
        windows = []
        for window_id in self._window_ids():
            try:
                info = self._describe(window_id, active)
            except (xerror.BadWindow, xerror.BadDrawable):
                continue  # closed between listing and asking
            if info.title or info.wm_class:
                windows.append(info)
        return windows

    def top_at(self, x: int, y: int) -> Window | None:
        """The topmost shown window that covers (x, y), by the window manager's stacking."""
        prop = self._root().get_full_property(self._atom("_NET_CLIENT_LIST_STACKING"), Xatom.WINDOW)
        bottom_to_top = [int(w) for w in prop.value] if prop is not None else self._window_ids()
        conn = self._xthread.connection
        for window_id in reversed(bottom_to_top):
            try:
                window = conn.create_resource_object("window", window_id)
                if window.get_attributes().map_state != X.IsViewable:
                    continue
                info = self._describe(window_id, None)
            except (xerror.BadWindow, xerror.BadDrawable):
                continue
            if info.x <= x < info.x + info.width and info.y <= y < info.y + info.height:
                return info
        return None

    def _describe(self, window_id: int, active: int | None) -> Window:
        conn = self._xthread.connection
        window = conn.create_resource_object("window", window_id)
        name = window.get_full_property(self._atom("_NET_WM_NAME"), self._atom("UTF8_STRING"))
        if name is not None:
            title = bytes(name.value).decode("utf-8", "replace")
        else:
            legacy = window.get_wm_name()
            title = legacy.decode("latin-1") if isinstance(legacy, bytes) else (legacy or "")
        wm_class = window.get_wm_class()
        pid_prop = window.get_full_property(self._atom("_NET_WM_PID"), Xatom.CARDINAL)
        geometry = window.get_geometry()
        origin = window.translate_coords(self._root(), 0, 0)
        return Window(
            id=window_id,
            title=title,
            wm_class=wm_class[1] if wm_class else "",
            pid=int(pid_prop.value[0]) if pid_prop is not None and len(pid_prop.value) else None,
            x=-origin.x,
            y=-origin.y,
            width=geometry.width,
            height=geometry.height,
            active=window_id == active,
        )

    def close(self, window_id: int) -> None:
        """Ask the window's application to close it, as its title bar's close button does."""
        window = self._existing(window_id)
        self._ask_window_manager(window, "_NET_CLOSE_WINDOW", [X.CurrentTime, 2, 0, 0, 0])
        self._xthread.connection.sync()

    def focus(self, window_id: int) -> None:
        window = self._existing(window_id)
        # Ask the window manager (source 2 = a pager or tool acting for the user)...
        self._ask_window_manager(window, "_NET_ACTIVE_WINDOW", [2, X.CurrentTime, 0, 0, 0])
        # ...and do it ourselves too, for sessions without one.
        window.configure(stack_mode=X.Above)
        window.set_input_focus(X.RevertToParent, X.CurrentTime)
        self._xthread.connection.sync()

    def _existing(self, window_id: int) -> Any:
        window = self._xthread.connection.create_resource_object("window", window_id)
        try:
            window.get_attributes()
        except (xerror.BadWindow, xerror.BadDrawable):
            raise NotFoundError(f"no window with id {window_id}") from None
        return window

    def _ask_window_manager(self, window: Any, message_type: str, data: builtins.list[int]) -> None:
        """An EWMH request: a client message to the root window, which the manager acts on."""
        message = xevent.ClientMessage(window=window, client_type=self._atom(message_type), data=(32, data))
        self._root().send_event(message, event_mask=X.SubstructureRedirectMask | X.SubstructureNotifyMask)
