"""The HTML report: notebook exports and an index page that links them, the figures and the tables,
byte-identical from one build to the next, and checked in a real headless browser."""

from __future__ import annotations

import base64
import io
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest
from matplotlib.figure import Figure  # no pyplot: no backend, no global state

from rgd_utils.report import ReportError, build_report, main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
needs_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's headless Chromium and its driver: apt-get install chromium chromium-driver",
)


# ---------------------------------------------------------------------------------------------
# Small inputs: executed-looking notebooks, real PNG figures, tables.

def _png(colour: str, size: tuple[float, float] = (2, 1.5)) -> bytes:
    fig = Figure(figsize=size)
    fig.add_subplot().plot([0, 1, 2], [0, 1, 0], color=colour)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40, metadata={"Software": "rgd"})
    return buffer.getvalue()


def _notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=list(cells))
    notebook.metadata["kernelspec"] = {"name": "rgd", "display_name": "Python (rgd)", "language": "python"}
    for number, cell in enumerate(notebook.cells):
        cell.id = f"cell-{number}"  # fixed ids: the same notebook bytes on every run
    return notebook


def _make_inputs(root: Path) -> dict[str, list[Path]]:
    """runs/cpu (a notebook with an image output, one with a table) and runs/sim (a notebook of the
    same name as one of cpu's), a figures folder (two PNGs, one PDF) and a tables folder."""
    image = base64.b64encode(_png("tab:red")).decode()
    plot = _notebook(
        nbformat.v4.new_markdown_cell("# Plot\nA figure <b>inline</b>."),
        nbformat.v4.new_code_cell("plt.plot([0, 1, 2])", execution_count=1, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="drawing\n"),
            nbformat.v4.new_output("display_data", data={"image/png": image, "text/plain": "<Figure>"}),
        ]),
    )
    table = _notebook(nbformat.v4.new_code_cell("df", execution_count=1, outputs=[
        nbformat.v4.new_output("execute_result", execution_count=1, data={
            "text/html": "<table><tr><th>acc</th></tr><tr><td>0.5</td></tr></table>",
            "text/plain": "acc 0.5"}),
    ]))
    notebooks = []
    for path, node in (("runs/cpu/00_plot.ipynb", plot), ("runs/cpu/01_table.ipynb", table),
                       ("runs/sim/01_table.ipynb", table)):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(node, root / path)
        notebooks.append(root / path)
    (root / "runs/cpu/02_failed.partial.ipynb").write_text("{}")  # a failed run: ignored

    figures = root / "figures"
    figures.mkdir()
    (figures / "01_accuracy.png").write_bytes(_png("tab:blue"))
    (figures / "02 cost & share.png").write_bytes(_png("tab:green", (3, 2)))  # a name to quote
    Figure(figsize=(2, 1.5)).savefig(figures / "01_accuracy.pdf", metadata={"CreationDate": None})

    tables = root / "results" / "tables"
    tables.mkdir(parents=True)
    (tables / "main.csv").write_text("router,accuracy\nCASCAL,0.61\n<script>alert(1)</script>,0.5\n")
    (tables / "main.md").write_text("| router | accuracy |\n|---|---|\n| CASCAL | 0.61 |\n")
    return {"notebooks": notebooks, "figures": sorted(figures.glob("*")), "tables": sorted(tables.glob("*"))}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, list[Path]], Path]:
    root = tmp_path_factory.mktemp("report")
    inputs = _make_inputs(root)
    index = build_report([root / "runs/cpu", root / "runs/sim"], root / "figures",
                         root / "results/tables", root / "runs/report")
    return root, inputs, index


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href") and not values["href"].startswith("#"):
            self.hrefs.append(values["href"])
        if tag == "img":
            self.images.append(values["src"] or "")


def _links(index: Path) -> _Links:
    parser = _Links()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser


# ---------------------------------------------------------------------------------------------

def test_index_links_every_notebook_figure_and_table(built) -> None:
    root, inputs, index = built
    assert index == root / "runs/report/index.html" and index.is_file()
    links = _links(index)
    targets = {(index.parent / unquote(h)).resolve() for h in links.hrefs}
    notebooks = root / "runs/report/notebooks"
    exports = [notebooks / name for name in ("cpu/00_plot.html", "cpu/01_table.html", "sim/01_table.html")]
    assert sorted(p for p in notebooks.rglob("*") if p.is_file()) == exports  # same names kept apart
    for path in exports + inputs["figures"] + inputs["tables"]:
        assert path.resolve() in targets, f"{path} is not linked"
    assert all(t.exists() for t in targets), "a link points nowhere"
    images = [(index.parent / unquote(src)).resolve() for src in links.images]
    assert images == [p.resolve() for p in inputs["figures"] if p.suffix == ".png"]

    text = index.read_text(encoding="utf-8")
    for section in ("Notebooks", "Figures", "Tables", "runs/cpu", "runs/sim"):
        assert section in text
    assert "02_failed" not in text
    assert "<td>CASCAL</td>" in text  # the CSV rendered as a table, with its cells escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script" not in text
    for forbidden in ("http://", "https://", "<link"):
        assert forbidden not in text  # nothing from the network


def test_exports_embed_their_images_and_load_nothing_from_the_network(built) -> None:
    root, _, _ = built
    page = (root / "runs/report/notebooks/cpu/00_plot.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "drawing" in page
    assert "<script src=" not in page.replace(" ", "") and "<link" not in page


def test_two_builds_are_byte_identical(built, tmp_path) -> None:
    root, _, index = built
    first = {p.relative_to(index.parent): p.read_bytes() for p in index.parent.rglob("*") if p.is_file()}
    build_report([root / "runs/sim", root / "runs/cpu"], root / "figures", root / "results/tables",
                 root / "runs/report")
    second = {p.relative_to(index.parent): p.read_bytes() for p in index.parent.rglob("*") if p.is_file()}
    assert first == second
    assert not any(p.name.startswith(".") for p in index.parent.rglob("*"))  # no scratch file left


def test_missing_and_empty_folders_give_a_note(tmp_path) -> None:
    (tmp_path / "tables").mkdir()
    index = build_report([tmp_path / "runs/cpu"], tmp_path / "figures", tmp_path / "tables", tmp_path / "out")
    text = index.read_text(encoding="utf-8")
    assert "No executed notebook in" in text and "make all" in text
    assert "No figures folder" in text
    assert "No table (CSV, Markdown or LaTeX) in" in text
    assert (tmp_path / "out/notebooks").is_dir()


def test_an_unreadable_notebook_is_named_and_the_old_report_kept(built, tmp_path) -> None:
    root, _, _ = built
    out = tmp_path / "report"
    shutil.copytree(root / "runs/report", out)
    before = (out / "index.html").read_bytes()
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs/broken.ipynb").write_text("not a notebook")
    with pytest.raises(ReportError, match=r"broken\.ipynb: cannot read this notebook"):
        build_report([root / "runs/cpu", tmp_path / "runs"], root / "figures", root / "results/tables", out)
    assert (out / "index.html").read_bytes() == before
    assert (out / "notebooks/cpu/00_plot.html").is_file() and not (out / ".notebooks.partial").exists()


def test_command_line_takes_folders_and_prints_the_index(built, tmp_path, capsys, monkeypatch) -> None:
    root, _, _ = built
    monkeypatch.chdir(root)
    assert main(["--executed", "runs/cpu", "runs/missing", "--figures", "figures",
                 "--tables", "results/tables", "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "out/index.html")
    exports = sorted(p.name for p in (tmp_path / "out/notebooks/cpu").iterdir())
    assert exports == ["00_plot.html", "01_table.html"]  # without the .partial.ipynb
    (root / "runs/bad").mkdir(exist_ok=True)
    (root / "runs/bad/x.ipynb").write_text("{")
    try:
        assert main(["--executed", "runs/bad", "--out", str(tmp_path / "out2")]) == 1
        assert "runs/bad/x.ipynb" in capsys.readouterr().err
    finally:
        shutil.rmtree(root / "runs/bad")


# ---------------------------------------------------------------------------------------------
# In a real browser: headless Chromium from Debian's packages, driven by selenium.

_IMAGES = ("return Array.from(document.images, "
           "i => [i.getAttribute('src').slice(0, 60), i.complete && i.naturalWidth > 0]);")
_NO_BROWSER = "needs Debian's headless Chromium and its driver: apt-get install chromium chromium-driver"


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(_NO_BROWSER)
    webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium: pip install -e '.[dev]'")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # with the driver's path given, selenium downloads nothing
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _images_in_browser(driver, page: Path) -> list[tuple[str, bool]]:
    driver.get(page.resolve().as_uri())
    return [tuple(image) for image in driver.execute_script(_IMAGES)]


@needs_browser
def test_every_image_of_the_report_loads_in_chromium(built, browser) -> None:
    root, inputs, index = built
    images = _images_in_browser(browser, index)
    assert len(images) == len([p for p in inputs["figures"] if p.suffix == ".png"]) == 2
    assert all(loaded for _, loaded in images), images
    exported = _images_in_browser(browser, root / "runs/report/notebooks/cpu/00_plot.html")
    assert len(exported) == 1 and exported[0][0].startswith("data:image/png") and exported[0][1]


@needs_browser
def test_the_browser_check_sees_a_figure_that_is_gone(built, browser, tmp_path) -> None:
    root, _, _ = built
    shutil.copytree(root / "figures", tmp_path / "figures")
    index = build_report([], tmp_path / "figures", tmp_path / "tables", tmp_path / "report")
    (tmp_path / "figures/01_accuracy.png").unlink()
    images = dict(_images_in_browser(browser, index))
    assert images == {"../figures/01_accuracy.png": False, "../figures/02%20cost%20%26%20share.png": True}
