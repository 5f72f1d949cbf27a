"""The HTML report: per preset the verdict, then the central figure, then the others with their
captions; a self-contained folder, byte-identical from one build to the next, that marks the
figures its runs did not write, checked in a real headless browser."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import matplotlib
import nbformat
import pytest
from matplotlib.figure import Figure  # no pyplot: no backend, no global state
from PIL import Image

from rgd_utils.plots import save_figure
from rgd_utils.report import ReportError, build_report, figure_caption, main, preset_of

matplotlib.use("Agg")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
_NO_BROWSER = "needs Debian's headless Chromium and its driver: apt-get install chromium chromium-driver"
# CI sets RGD_REQUIRE_BROWSER=1 (.ci/run installs both): there a missing browser fails, never skips.
if os.environ.get("RGD_REQUIRE_BROWSER") == "1" and not (CHROMIUM and CHROMEDRIVER):
    raise RuntimeError(f"RGD_REQUIRE_BROWSER=1 but chromium or chromedriver is missing: {_NO_BROWSER}")
needs_browser = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason=_NO_BROWSER)

CAPTIONS = {
    "07_generator_strength": "Accuracy against generator strength (strong: model A, weak: model B).",
    "02_agreement": "How often two pool models give the same answer.",
    "00_questions": "Questions per benchmark & split <train/test>.",
    "02_agreement_sim": "SIMULATED: how often two pool models agree.",
    "sim_map_phase": "SIMULATED map: where each claim holds.",
}


# ---------------------------------------------------------------------------------------------
# Small inputs: executed-looking notebooks and their stamps, captioned figures, tables.

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


def _claims(preset: str) -> str:
    rows = ["claim,benchmark,k,estimate,low,high,p_adjusted,verdict,evidence"]
    for k in (1, 3):
        rows += [f"1. routers degrade,mmlu,{k},0.2,0.1,0.3,0.01,holds,{preset} detail",
                 f"1. routers degrade,average,{k},0.{k}5,0.05,0.2,0.005,holds,{preset} detail",
                 f"2. CASCAL beats,average,{k},-0.01,-0.04,0.02,0.5,inconclusive at our n,x"]
    rows += ["4. spread explains,average,1,0.5,,,0.57,inconclusive at our n,x",  # a rank correlation
             "6. area,average,3,,,,,not measured,x"]
    return "\n".join(rows) + "\n"


def _make_inputs(root: Path) -> dict[str, list[Path]]:
    """runs/cpu (a notebook with an image output, one with a table, the stamp of one that wrote
    two cpu figures) and runs/sim (a notebook of the same name as one of cpu's); figures of cpu
    (one left over from an earlier run), of sim and of no preset; claims and other tables."""
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
    for number, (stem, caption) in enumerate(CAPTIONS.items()):
        fig = Figure(figsize=(2 + number % 2, 1.5))
        fig.add_subplot().plot([0, 1, 2], [number, 1, 0])
        save_figure(fig, stem, figures, caption=caption)
    (figures / "06_uncaptioned.png").write_bytes(_png("tab:green"))  # from before captions
    written = {f"figures/{name}": hashlib.sha256((figures / name).read_bytes()).hexdigest()
               for name in ("07_generator_strength.png", "02_agreement.png", "02_agreement.pdf")}
    (root / "runs/cpu/07_results.stamp.json").write_text(json.dumps({"outputs": written}))
    (root / "runs/sim/03_x.stamp.json").write_text("not json")  # proves nothing

    tables = root / "results" / "tables"
    tables.mkdir(parents=True)
    (tables / "claims_cpu.csv").write_text(_claims("cpu"))
    (tables / "claims_sim.csv").write_text(_claims("sim"))
    (tables / "main_cpu_k1.csv").write_text("router,accuracy\nCASCAL,0.61\n<script>alert(1)</script>,0.5\n")
    (tables / "main_cpu_k1.md").write_text("| router | accuracy |\n|---|---|\n| CASCAL | 0.61 |\n")
    (tables / "sim_map_claims.csv").write_text("# SIMULATED\nclaim,estimate\n1. x,0.01\n")
    return {"notebooks": notebooks, "figures": sorted(figures.glob("*")), "tables": sorted(tables.glob("*"))}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict[str, list[Path]], Path]:
    root = tmp_path_factory.mktemp("report")
    inputs = _make_inputs(root)
    index = build_report([root / "runs/cpu", root / "runs/sim"], root / "figures",
                         root / "results/tables", root / "runs/report")
    return root, inputs, index


class _Page(HTMLParser):
    """The links, images, captions and the order of the sections of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.images: list[str] = []
        self.sections: list[str] = []
        self.figures: list[str] = []
        self.captions: list[str] = []
        self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href") and not values["href"].startswith("#"):
            self.hrefs.append(values["href"])
        if tag == "img":
            self.images.append(values["src"] or "")
        if tag == "section":
            self.sections.append(values.get("id") or "")
        if tag == "figure":
            self.figures.append(values.get("class") or "")
        if tag == "figcaption":
            self._in_caption = True
            self.captions.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "figcaption":
            self._in_caption = False

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self.captions[-1] += data


def _page(index: Path) -> _Page:
    parser = _Page()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser


# ---------------------------------------------------------------------------------------------

def test_save_figure_keeps_its_caption_in_the_png_and_refuses_none(tmp_path) -> None:
    fig = Figure()
    png, pdf = save_figure(fig, "01_x", tmp_path, caption="  Accuracy of\n each router. ")
    assert figure_caption(png) == "Accuracy of each router."
    assert b"Accuracy of each router." in pdf.read_bytes()
    assert figure_caption(tmp_path / "missing.png") is None
    with pytest.raises(ValueError, match="01_y.*caption"):
        save_figure(fig, "01_y", tmp_path, caption=" ")


def test_figures_and_tables_belong_to_the_preset_their_name_says() -> None:
    assert [preset_of(s) for s in ("00_questions", "02_agreement_sim", "04_filter_gains_cpu-specialists",
                                   "claims_cpu", "main_sim_k3", "main_cpu-specialists_k1",
                                   "sim_map_phase", "paper_seed_table")] == \
        ["cpu", "sim", "cpu-specialists", "cpu", "sim", "cpu-specialists", None, None]


def test_each_preset_gives_its_verdict_then_the_central_figure_then_the_rest(built) -> None:
    root, _, index = built
    page = _page(index)
    assert page.sections[:4] == ["preset-cpu", "claims-cpu", "figures-cpu", "tables-cpu"]
    assert page.sections.index("preset-sim") < page.sections.index("claims-sim") \
        < page.sections.index("figures-sim") < page.sections.index("other")
    assert page.sections[-1] == "notebooks"
    # figures: cpu's central one first, then the study's order; sim's; then those of no preset
    assert page.images == ["figures/07_generator_strength.png", "figures/00_questions.png",
                           "figures/02_agreement.png", "figures/06_uncaptioned.png",
                           "figures/02_agreement_sim.png", "figures/sim_map_phase.png"]
    assert page.figures[0] == "figure central"
    captions = [" ".join(c.split()) for c in page.captions]
    assert captions[0].startswith(CAPTIONS["07_generator_strength"])
    assert captions[1].startswith("Questions per benchmark & split <train/test>.")  # escaped, read back
    assert captions[3].startswith("(no caption saved in this figure)")

    text = index.read_text(encoding="utf-8")
    verdict = text[text.index('id="claims-cpu"'):text.index('id="figures-cpu"')]
    assert "<td>+0.150 [+0.050, +0.200]</td>" in verdict and "<td>+0.350 [+0.050, +0.200]</td>" in verdict  # both k
    assert "<td>mmlu</td>" not in verdict and "cpu detail" not in verdict  # not the per-benchmark rows
    assert verdict.count("</tr>") == 7  # header and six average rows
    assert "<td>+0.500</td>" in verdict and "<td>not measured</td>" in verdict
    assert 'href="tables/claims_cpu.csv"' in verdict
    assert "<td>CASCAL</td>" in text  # a CSV rendered as a table, with its cells escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script" not in text
    for forbidden in ("http://", "https://", "<link"):
        assert forbidden not in text  # nothing from the network


def test_figures_the_runs_did_not_write_are_marked(built) -> None:
    _, _, index = built
    page = _page(index)
    marked = {src: "not-regenerated" in classes for src, classes in zip(page.images, page.figures)}
    assert marked == {"figures/07_generator_strength.png": False, "figures/02_agreement.png": False,
                      "figures/00_questions.png": True, "figures/06_uncaptioned.png": True,
                      "figures/02_agreement_sim.png": True, "figures/sim_map_phase.png": True}
    assert sum("not regenerated in this run" in c for c in page.captions) == 4
    assert "4 figures marked" in index.read_text(encoding="utf-8")


def test_the_folder_holds_everything_it_links_and_can_be_moved(built, tmp_path) -> None:
    root, inputs, index = built
    moved = tmp_path / "elsewhere"
    shutil.copytree(index.parent, moved)
    page = _page(moved / "index.html")
    assert all(not link.startswith(("/", "..", "file:")) for link in page.hrefs + page.images)
    targets = {(moved / unquote(link)).resolve() for link in page.hrefs + page.images}
    assert all(t.is_file() and moved in t.parents for t in targets), "a link leaves the folder"
    copies = {p.relative_to(moved).as_posix() for p in targets}
    assert {f"figures/{p.name}" for p in inputs["figures"]} <= copies
    assert {f"tables/{p.name}" for p in inputs["tables"]} <= copies
    assert {"notebooks/cpu/00_plot.html", "notebooks/cpu/01_table.html", "notebooks/sim/01_table.html"} <= copies
    for figure in inputs["figures"]:
        assert (moved / "figures" / figure.name).read_bytes() == figure.read_bytes()
    assert "02_failed" not in (moved / "index.html").read_text(encoding="utf-8")


def test_exports_embed_their_images_and_load_nothing_from_the_network(built) -> None:
    root, _, _ = built
    page = (root / "runs/report/notebooks/cpu/00_plot.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "drawing" in page
    assert "<script src=" not in page.replace(" ", "") and "<link" not in page


def test_two_builds_are_byte_identical_and_drop_what_is_gone(built, tmp_path) -> None:
    root, _, index = built
    first = {p.relative_to(index.parent): p.read_bytes() for p in index.parent.rglob("*") if p.is_file()}
    build_report([root / "runs/sim", root / "runs/cpu"], root / "figures", root / "results/tables",
                 root / "runs/report")
    second = {p.relative_to(index.parent): p.read_bytes() for p in index.parent.rglob("*") if p.is_file()}
    assert first == second
    assert not any(p.name.startswith(".") for p in index.parent.rglob("*"))  # no scratch file left

    out = tmp_path / "report"
    shutil.copytree(index.parent, out)
    build_report([root / "runs/sim"], tmp_path / "no-figures", root / "results/tables", out)
    assert not any((out / "figures").iterdir()) and not (out / "notebooks/cpu").exists()


def test_missing_and_empty_folders_give_a_note(tmp_path) -> None:
    (tmp_path / "tables").mkdir()
    index = build_report([tmp_path / "runs/cpu"], tmp_path / "figures", tmp_path / "tables", tmp_path / "out")
    text = index.read_text(encoding="utf-8")
    assert "No executed notebook in" in text and "make all" in text
    assert "No figures folder" in text
    assert "No table (CSV, Markdown or LaTeX) in" in text
    assert all((tmp_path / "out" / folder).is_dir() for folder in ("notebooks", "figures", "tables"))


def test_a_preset_without_its_claims_table_says_so(tmp_path) -> None:
    save_figure(Figure(), "02_agreement_sim", tmp_path / "figures", caption="SIMULATED agreement.")
    index = build_report([], tmp_path / "figures", tmp_path / "tables", tmp_path / "out")
    text = index.read_text(encoding="utf-8")
    assert 'id="claims-sim"' in text and "No claims table (claims_sim.csv) yet" in text


def test_an_unreadable_notebook_is_named_and_the_old_report_kept(built, tmp_path) -> None:
    root, _, _ = built
    out = tmp_path / "report"
    shutil.copytree(root / "runs/report", out)
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs/broken.ipynb").write_text("not a notebook")
    with pytest.raises(ReportError, match=r"broken\.ipynb: cannot read this notebook"):
        build_report([root / "runs/cpu", tmp_path / "runs"], root / "figures", root / "results/tables", out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before and not any(p.name.startswith(".") for p in out.iterdir())


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

_CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--no-first-run", "--window-size=1200,900")
_IMAGES = ("return Array.from(document.images, "
           "i => [i.getAttribute('src').slice(0, 60), i.complete && i.naturalWidth > 0]);")
# Each figure section with the position (in document order) of its preset's claims section, the
# captions' rendered text, and the first claims and figure sections on the page.
_LAYOUT = """
const before = (a, b) => !!(a && b && (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING));
const claims = document.querySelector('section.claims');
return {
  figureSections: Array.from(document.querySelectorAll('section.figures'), s => {
    const preset = s.closest('section.preset');
    return [s.id, preset ? before(preset.querySelector('section.claims'), s) : null, before(claims, s)];
  }),
  captions: Array.from(document.querySelectorAll('figure'),
                       f => (f.querySelector('figcaption') || {innerText: ''}).innerText.trim()),
  claimsRows: claims ? claims.querySelectorAll('tbody tr').length : 0,
  claimsTop: claims ? claims.getBoundingClientRect().top + window.scrollY : null,
  firstFigureTop: document.images.length ? document.images[0].getBoundingClientRect().top + window.scrollY : null,
};
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip(_NO_BROWSER)
    if os.environ.get("RGD_REQUIRE_BROWSER") == "1":
        from selenium import webdriver  # in CI a missing selenium is an error, not a skip
    else:
        webdriver = pytest.importorskip("selenium.webdriver", reason="needs selenium: pip install -e '.[dev]'")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # with the driver's path given, selenium downloads nothing
    for argument in _CHROMIUM_FLAGS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _images_in_browser(driver, page: Path) -> list[tuple[str, bool]]:
    driver.get(page.resolve().as_uri())
    return [tuple(image) for image in driver.execute_script(_IMAGES)]


@needs_browser
def test_chromium_renders_the_moved_report_verdict_first_with_captions_and_every_image(
        built, browser, tmp_path) -> None:
    root, inputs, index = built
    moved = tmp_path / "moved report"  # a space in the path, and far from figures/
    shutil.copytree(index.parent, moved)
    images = _images_in_browser(browser, moved / "index.html")
    assert len(images) == len([p for p in inputs["figures"] if p.suffix == ".png"]) == 6
    assert all(loaded for _, loaded in images), images

    layout = browser.execute_script(_LAYOUT)
    assert layout["figureSections"] == [["figures-cpu", True, True], ["figures-sim", True, True],
                                        ["figures-other", None, True]]  # each after its verdict
    assert layout["claimsRows"] == 6
    assert layout["claimsTop"] < layout["firstFigureTop"]  # the verdict is above, on screen too
    assert len(layout["captions"]) == 6 and all(layout["captions"]), layout["captions"]
    assert layout["captions"][0].startswith(CAPTIONS["07_generator_strength"])

    screenshot = tmp_path / "report.png"
    assert browser.save_screenshot(str(screenshot))
    with Image.open(screenshot) as shot:
        assert shot.size[0] >= 800 and shot.size[1] >= 600
        colours = shot.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 20, "the screenshot is blank"

    exported = _images_in_browser(browser, moved / "notebooks/cpu/00_plot.html")
    assert len(exported) == 1 and exported[0][0].startswith("data:image/png") and exported[0][1]


@needs_browser
def test_the_browser_check_sees_a_figure_that_is_gone(built, browser, tmp_path) -> None:
    _, _, index = built
    shutil.copytree(index.parent, tmp_path / "report")
    (tmp_path / "report/figures/02_agreement.png").unlink()
    images = dict(_images_in_browser(browser, tmp_path / "report/index.html"))
    assert images.pop("figures/02_agreement.png") is False
    assert len(images) == 5 and all(images.values())
