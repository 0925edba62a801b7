"""An HTML template for ``dvc plots show`` that works offline.

DVC's own page loads vega, vega-lite and vega-embed from a CDN, so without network it shows a
blank page. This template carries the three scripts inline, taken from their npm packages
(``make plots`` fetches them with ``npm pack``); DVC fills in the plots.

``python -m saerepro.reporting.plots_page PACKAGES_DIR TEMPLATE``
"""

from __future__ import annotations

import argparse
import tarfile
from pathlib import Path

from saerepro.core.atomic import atomic_write_text

# The versions DVC's renderer asks its CDN for (dvc_render/vega.py).
SCRIPTS = {
    "vega-5.20.2.tgz": "package/build/vega.min.js",
    "vega-lite-5.2.0.tgz": "package/build/vega-lite.min.js",
    "vega-embed-6.18.2.tgz": "package/build/vega-embed.min.js",
}
PAGE = """<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <title>saerepro: headline figures (dvc plots show)</title>
{scripts}
  <style>body {{ font-family: sans-serif; }} table {{ border-spacing: 15px; }}</style>
</head>
<body>
  <h1>Headline figures</h1>
  <p>Drawn by <code>dvc plots show</code> from the plot CSVs under <code>results/</code>.</p>
  {{plot_divs}}
</body>
</html>
"""


def script(package: Path, member: str) -> str:
    """The JavaScript file ``member`` of the npm tarball ``package``."""
    if not package.is_file():
        raise FileNotFoundError(f"{package} is missing: run `make plots` (it calls npm pack)")
    with tarfile.open(package) as tar:
        source = tar.extractfile(member)
        if source is None:
            raise FileNotFoundError(f"{member} is not a file in {package}")
        return source.read().decode()


def template(packages_dir: str | Path) -> str:
    """The page with the three scripts inline and DVC's ``{plot_divs}`` placeholder."""
    folder = Path(packages_dir)
    blocks = []
    for tgz, member in SCRIPTS.items():
        code = script(folder / tgz, member).replace("</script", "<\\/script")  # stay in the tag
        blocks.append(f"  <script>\n{code}\n  </script>")
    return PAGE.format(scripts="\n".join(blocks))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages_dir", help="the folder holding the npm tarballs")
    parser.add_argument("template", help="the HTML template to write")
    args = parser.parse_args(argv)
    atomic_write_text(args.template, template(args.packages_dir))
    print(f"wrote {args.template}")


if __name__ == "__main__":
    main()
