"""`omnivfx`: track plates headless, inspect plates, export results, serve host bridges."""

from __future__ import annotations

import os
import sys

import click

from omnimotion_vfx import __version__

from .errors import handle_errors

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class OneLineErrorsGroup(click.Group):
    """Usage errors (unknown option, bad number) as one line and exit 2, like every other bad input."""

    def main(self, *args, **kwargs):  # type: ignore[override]
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("omnivfx: interrupted", err=True)
            sys.exit(3)
        except click.exceptions.NoArgsIsHelpError as exc:  # bare `omnivfx`: the help, not an error
            click.echo(exc.format_message())
            sys.exit(0)
        except click.ClickException as exc:
            click.echo(f"omnivfx: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=OneLineErrorsGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="omnivfx")
def main() -> None:
    """Dense point tracking through occlusions for VFX plates (OmniMotion)."""


@main.command()
@click.argument("plate")
@click.option("--frames", help="Frame range to inspect, e.g. 1001-1100.")
@handle_errors
def info(plate, frames):
    """Show what PLATE holds: frames, range, gaps, resolution, channels and layers."""
    from omnimotion_vfx.io.plate_info import describe_plate

    click.echo(describe_plate(plate, frames))


from .track_cmd import track  # noqa: E402

main.add_command(track)

from .batch_cmd import batch  # noqa: E402

main.add_command(batch)

from .export_cmd import export  # noqa: E402

main.add_command(export)

from .serve_cmd import serve  # noqa: E402
main.add_command(serve)
from .submit_cmd import submit  # noqa: E402
main.add_command(submit)
from .status_cmd import status  # noqa: E402
main.add_command(status)
from .keys_cmd import keys  # noqa: E402
main.add_command(keys)

from .pin_cmd import pin  # noqa: E402
main.add_command(pin)
from .clean_cmd import clean  # noqa: E402
main.add_command(clean)

if __name__ == "__main__":
    main()
