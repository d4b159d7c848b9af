"""Key names: what agents write, mapped onto X keysyms.

Models emit many spellings for one key: Claude writes xdotool names ("Return", "ctrl+l"),
OpenAI writes browser-ish names ("ENTER", "ARROWLEFT", "CMD"), people write "esc" or
"pgdn". Every spelling is folded here onto one canonical X keysym name, so the rest of
deskbox only ever sees canonical names. Pure Python: the SDK validates keys without Xlib.
"""

from __future__ import annotations

from ._keysyms import KEYSYMS

# fmt: off
ALIASES: dict[str, str] = {
    "enter": "Return", "return": "Return", "ret": "Return", "newline": "Return",
    "esc": "Escape", "escape": "Escape",
    "tab": "Tab", "space": "space", "spacebar": "space",
    "backspace": "BackSpace", "back_space": "BackSpace", "bksp": "BackSpace",
    "delete": "Delete", "del": "Delete", "insert": "Insert", "ins": "Insert",
    "home": "Home", "end": "End",
    "pageup": "Prior", "page_up": "Prior", "pgup": "Prior", "prior": "Prior",
    "pagedown": "Next", "page_down": "Next", "pgdn": "Next", "next": "Next",
    "up": "Up", "down": "Down", "left": "Left", "right": "Right",
    "arrowup": "Up", "arrowdown": "Down", "arrowleft": "Left", "arrowright": "Right",
    "arrow_up": "Up", "arrow_down": "Down", "arrow_left": "Left", "arrow_right": "Right",
    "ctrl": "Control_L", "control": "Control_L", "lctrl": "Control_L", "ctrl_l": "Control_L",
    "rctrl": "Control_R", "ctrl_r": "Control_R",
    "shift": "Shift_L", "lshift": "Shift_L", "rshift": "Shift_R",
    "alt": "Alt_L", "lalt": "Alt_L", "ralt": "Alt_R", "option": "Alt_L", "opt": "Alt_L",
    "altgr": "ISO_Level3_Shift",
    "super": "Super_L", "cmd": "Super_L", "command": "Super_L", "meta": "Super_L",
    "win": "Super_L", "windows": "Super_L", "lwin": "Super_L", "rwin": "Super_R",
    "capslock": "Caps_Lock", "caps": "Caps_Lock", "numlock": "Num_Lock",
    "scrolllock": "Scroll_Lock", "printscreen": "Print", "prtsc": "Print", "print": "Print",
    "pause": "Pause", "break": "Break", "menu": "Menu", "apps": "Menu",
    "plus": "plus", "minus": "minus", "equal": "equal", "equals": "equal",
    "volumeup": "XF86AudioRaiseVolume", "volumedown": "XF86AudioLowerVolume",
    "volumemute": "XF86AudioMute", "mute": "XF86AudioMute",
    "playpause": "XF86AudioPlay", "mediaplay": "XF86AudioPlay",
    "medianext": "XF86AudioNext", "mediaprev": "XF86AudioPrev",
    "browserback": "XF86Back", "browserforward": "XF86Forward",
}
# fmt: on

_BY_LOWER: dict[str, str] = {}
for _name in sorted(KEYSYMS, key=lambda n: (n.lower(), n != n.lower())):
    _BY_LOWER.setdefault(_name.lower(), _name)

_CONTROL_CHARS = {"\n": "Return", "\r": "Return", "\t": "Tab", "\b": "BackSpace", "\x1b": "Escape"}

MODIFIERS = frozenset(
    {
        "Control_L",
        "Control_R",
        "Shift_L",
        "Shift_R",
        "Alt_L",
        "Alt_R",
        "Super_L",
        "Super_R",
        "Meta_L",
        "Meta_R",
        "ISO_Level3_Shift",
        "Hyper_L",
        "Hyper_R",
    }
)


class UnknownKeyError(ValueError):
    """A key name that no spelling table knows."""


def canonical_key(name: str) -> str:
    """Fold one key spelling onto its canonical name, or raise UnknownKeyError.

    A single character stands for itself (so "A" and "é" are keys); longer names are
    matched case-insensitively against the aliases and then the X keysym names.
    """
    if len(name) == 1:
        return _CONTROL_CHARS.get(name, name)
    if name in KEYSYMS:
        return name
    folded = name.strip().lower().replace("-", "_")
    if folded in ALIASES:
        return ALIASES[folded]
    if folded.replace("_", "") in ALIASES:
        return ALIASES[folded.replace("_", "")]
    if folded in _BY_LOWER:
        return _BY_LOWER[folded]
    if len(folded) in (2, 3) and folded[0] == "f" and folded[1:].isdigit():
        number = int(folded[1:])
        if 1 <= number <= 35:
            return f"F{number}"
    raise UnknownKeyError(f"unknown key name {name!r}")


def split_combo(combo: str) -> list[str]:
    """Split "ctrl+shift+t" into its keys; "ctrl++" and a lone "+" mean the plus key."""
    if combo == "+":
        return ["+"]
    parts = combo.split("+")
    keys: list[str] = []
    for index, part in enumerate(parts):
        if part:
            keys.append(part.strip() or part)
        elif index == len(parts) - 1 and keys:
            keys.append("+")
    return keys


def canonical_chord(keys: list[str]) -> list[str]:
    """Canonical names for keys pressed together.

    Inside a chord with other keys a letter is lowercased: OpenAI writes ["CTRL", "A"]
    for ctrl+a, not ctrl+shift+a. A letter alone keeps its case, as xdotool does.
    """
    names = [canonical_key(key) for key in keys]
    if len(names) > 1:
        names = [name.lower() if len(name) == 1 and name.isalpha() else name for name in names]
    return names


def keysym_for(name: str) -> int:
    """The X keysym of a canonical key name or of any single Unicode character."""
    if len(name) == 1:
        return keysym_for_char(name)
    return KEYSYMS[name]


def keysym_for_char(char: str) -> int:
    if char in _CONTROL_CHARS:
        return KEYSYMS[_CONTROL_CHARS[char]]
    code = ord(char)
    # Latin-1 keysyms equal their code point; every other character has a Unicode keysym.
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    return 0x01000000 | code
