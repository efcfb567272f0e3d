"""Never show the New Experiment error list of a YAML text the editor no longer holds.

Each YAML edit is checked on the server; on a busy machine an edit's answer can arrive after
the user has already pasted something else, and for a moment the dialog listed the problems of
the old text ("choose a train dataset" while a valid YAML was being processed). So the error
list carries a stamp of the text it was computed for; an edit hides the list at once (in the
browser, no round trip), and an answer shows it again only when its stamp is the current text's.
The stamp is FNV-1a over UTF-16 code units, computed alike here and in the browser.
"""
from __future__ import annotations

CHECKING_CLASS = "config-checking"  # assets/css/studio.css: the list hidden, "Checking…" shown

_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193


def text_stamp(text: str | None) -> str:
    data = (text or "").encode("utf-16-le", "surrogatepass")
    stamp = _FNV_OFFSET
    for i in range(0, len(data), 2):
        stamp = ((stamp ^ (data[i] | data[i + 1] << 8)) * _FNV_PRIME) & 0xFFFFFFFF
    return format(stamp, "x")


_STAMP_JS = ("(s) => { let h = 0x811c9dc5; s = s || ''; for (let i = 0; i < s.length; i++) "
             "{ h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0; } return h.toString(16); }")

# On a YAML edit, in the browser: the list now describes an older text.
HIDE_JS = f"""() => {{ document.querySelector('#config-errors')?.classList.add('{CHECKING_CLASS}'); }}"""

# After the server answered a YAML edit: show the list if it is the current text's.
SHOW_IF_CURRENT_JS = f"""(text) => {{
  const box = document.querySelector('#config-errors');
  const stamped = box?.querySelector('[data-yaml-stamp]')?.dataset.yamlStamp;
  if (box && (!stamped || stamped === ({_STAMP_JS})(text))) box.classList.remove('{CHECKING_CLASS}');
}}"""

# After an answer that set the YAML itself (a field edit, Reset, opening the dialog): it is current.
SHOW_JS = f"""() => {{ document.querySelector('#config-errors')?.classList.remove('{CHECKING_CLASS}'); }}"""
