"""`omnivfx keys`: CURVE key pairs for an encrypted daemon and its allowed clients."""

from __future__ import annotations

from pathlib import Path

import click

from .errors import handle_errors

EPILOG = """\b
Examples:
  omnivfx keys ~/.omnivfx/keys                    # the daemon's pair + empty allow-list
  omnivfx keys ~/.omnivfx/keys --client nuke-ws01  # a client pair, allowed; copy clients/nuke-ws01/ to that host
  omnivfx serve --curve-keys ~/.omnivfx/keys
  omnivfx status --curve-keys ~/.omnivfx/keys/clients/nuke-ws01"""


@click.command(epilog=EPILOG)
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--client", "client_name", help="Also create and allow a client key pair with this name.")
@handle_errors
def keys(folder, client_name):
    """Create CURVE keys in FOLDER: server pair, authorized_clients/, clients/NAME/."""
    from omnimotion_vfx.daemon.keys import SERVER_SECRET, add_client, ensure_server_keys
    from omnimotion_vfx.errors import InputError

    root = Path(folder)
    _, created = ensure_server_keys(root)
    click.echo(f"{'created' if created else 'kept'} {root / SERVER_SECRET}")
    if client_name:
        try:
            client_dir = add_client(root, client_name)
        except (ValueError, FileExistsError) as exc:
            raise InputError(str(exc)) from None
        click.echo(f"created {client_dir} (allowed); give this folder to the client: --curve-keys {client_dir}")
