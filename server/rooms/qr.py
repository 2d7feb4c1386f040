"""The room's join link as a QR code (segno), an SVG a phone reads off the projector."""

from __future__ import annotations

import io

import segno


def qr_svg(link: str) -> bytes:
    """A black-on-white SVG with its quiet zone (scanners need the white border, also in the
    dark theme), scaled by the page; error correction M survives a dim projector."""
    qr = segno.make_qr(link, error="m")
    out = io.BytesIO()
    qr.save(out, kind="svg", scale=8, border=4, dark="#000", light="#fff", xmldecl=False,
            svgns=True, title="Join link", nl=False)  # fmt: skip
    return out.getvalue()
