"""CURVE key pairs for `omnivfx serve --curve-keys DIR` and its clients (pyzmq's zmq.auth certificate files).

Layout of DIR on the daemon's machine:
    server.key, server.key_secret      the daemon's pair (server.key is given to every client)
    authorized_clients/NAME.key        public keys allowed to connect; any other key is refused
    clients/NAME/                      a ready-to-copy folder per client: client.key, client.key_secret, server.key
A client connects with `--curve-keys DIR/clients/NAME` (or `Client(..., curve_keys=...)`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

SERVER_PUBLIC = "server.key"
SERVER_SECRET = "server.key_secret"
AUTHORIZED_DIR = "authorized_clients"
CLIENTS_DIR = "clients"
CLIENT_PUBLIC = "client.key"
CLIENT_SECRET = "client.key_secret"


def ensure_server_keys(folder: Path) -> tuple[Path, bool]:
    """Create the daemon's pair and the allow-list folder unless present; returns (secret file, created)."""
    import zmq.auth

    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    (folder / AUTHORIZED_DIR).mkdir(exist_ok=True)
    secret = folder / SERVER_SECRET
    if secret.is_file():
        return secret, False
    zmq.auth.create_certificates(str(folder), "server")
    secret.chmod(0o600)
    return secret, True


def add_client(folder: Path, name: str) -> Path:
    """Make a client pair in clients/NAME/ (with a copy of server.key) and allow its public key."""
    import zmq.auth

    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"client name {name!r} must be a plain file name")
    ensure_server_keys(folder)
    client_dir = folder / CLIENTS_DIR / name
    if (client_dir / CLIENT_SECRET).is_file():
        raise FileExistsError(f"{client_dir} already holds a key pair")
    client_dir.mkdir(parents=True, exist_ok=True)
    client_dir.chmod(0o700)
    zmq.auth.create_certificates(str(client_dir), "client")
    (client_dir / CLIENT_SECRET).chmod(0o600)
    shutil.copyfile(folder / SERVER_PUBLIC, client_dir / SERVER_PUBLIC)
    shutil.copyfile(client_dir / CLIENT_PUBLIC, folder / AUTHORIZED_DIR / f"{name}.key")
    return client_dir
