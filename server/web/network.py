"""This machine's own addresses, for a classroom: which URL students type, which origins to trust.

Read from the network interfaces (Linux ioctl) or the host name, never by sending a packet.
"""

from __future__ import annotations

import ipaddress
import socket
import struct

SIOCGIFADDR = 0x8915  # Linux: get an interface's IPv4 address


def share_origin(host: str, port: int | None) -> str | None:
    """The address students can open, when the server listens on every interface (0.0.0.0, ::):
    `http://<first LAN address>:<port>`; None when it listens on one address only."""
    if host not in ("0.0.0.0", "::", "") or not port:
        return None
    usable = [a for a in lan_addresses() if not ipaddress.ip_address(a).is_link_local]
    return f"http://{usable[0]}:{port}" if usable else None


def local_only(host: str) -> bool:
    """Does a server listening on `host` answer this machine only (a loopback address)?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: whatever it resolves to, others may reach it


def lan_addresses() -> list[str]:
    """IPv4 addresses of this machine's interfaces, loopback excluded, sorted."""
    found: set[str] = set()
    try:
        import fcntl

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for _, name in socket.if_nameindex():
                try:
                    packed = struct.pack("256s", name.encode()[:15])
                    addr = fcntl.ioctl(s.fileno(), SIOCGIFADDR, packed)[20:24]
                    found.add(socket.inet_ntoa(addr))
                except OSError:
                    continue  # an interface without an IPv4 address
    except (ImportError, OSError, AttributeError):
        pass
    try:
        found.update(socket.gethostbyname_ex(socket.gethostname())[2])
    except OSError:
        pass
    return sorted(a for a in found if not ipaddress.ip_address(a).is_loopback)
