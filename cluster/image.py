#!/usr/bin/env python3
"""The runner's image, built here without Docker (cluster/localplane/runner_image.py):

    python3 cluster/image.py build        # build when the inputs changed; print the OCI layout's path
    python3 cluster/image.py lock         # pin debian-packages.lock to what apt offers now
    python3 cluster/image.py run -- ARGS   # unpack the image and run its entrypoint with ARGS, as its user

Needs root (chroot) and the package registries for a cold build. The layout can be pushed with
`skopeo copy oci:<layout> docker://<registry>/tekton-runner:<tag>`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from localplane import runner_image


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cluster/image.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="build the image (cached by its inputs); print the layout's path")
    sub.add_parser("lock", help="rewrite debian-packages.lock from apt's current candidates")
    run = sub.add_parser("run", help="run the image's entrypoint with ARGS as the image's user")
    run.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.cmd == "lock":
        pins = runner_image.write_debian_lock()
        print(f"{runner_image.DEBIAN_LOCK}: {len(pins)} packages")
        return 0
    built = runner_image.build()
    if args.cmd == "build":
        how = f"built in {built.seconds:.0f} s" if built.seconds else "cached"
        print(f"{built.layout}  ({how}; key {built.key})", file=sys.stderr)
        print(built.layout)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        config = runner_image.unpack(built.layout, root)
        done = runner_image.run_as_image(root, config, args.args[1:] if args.args[:1] == ["--"] else args.args)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
