"""The claims the study checks, written down before they are measured: each claim's estimand,
routers, train data and decision rule, the family its p-values are adjusted in, and a dated
changelog of every change made to them and why.

:mod:`rgd_utils.claims` measures exactly what is written here; a change to a claim is a change
to this table plus a :data:`CHANGELOG` line.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Two-sided level of every test and 1 - coverage of every interval.
ALPHA = 0.05
#: Power at which the minimum detectable effect is given.
POWER = 0.8
#: Routed models per query of every claim; the headline quotes k = 1, the paper's main setting
#: (one model answers each query; k = 3 is its top-3 vote).
KS: tuple[int, ...] = (1, 3)
HEADLINE_K = 1
#: Seeds of the runs the claims read: seed 0 fits the train items as they are, seeds 1..4 a
#: bootstrap resample of them (rgd_utils.experiments.train_draw), each with its router seed.
SEEDS: tuple[int, ...] = (0, 1, 2, 3, 4)
#: Bootstrap replicates of the paired resampling.
N_BOOT = 2000

#: The decision rule of every claim (the p-value is Holm-adjusted within the claim's family).
DECISION_RULE = (f"holds when the Holm-adjusted p < {ALPHA} and the 95% interval is above 0; "
                 f"does not hold when the adjusted p < {ALPHA} and the interval is below 0; "
                 "inconclusive at our n otherwise")
#: The multiplicity families: the paper's claims (1-4) on the benchmark average at both k are
#: the confirmatory family of a preset; every other row (per benchmark, and our claims 5-6) is
#: exploratory, Holm-adjusted in a second family of the preset.
CONFIRMATORY = "confirmatory"
EXPLORATORY = "exploratory"


@dataclass(frozen=True)
class ClaimSpec:
    """One claim, as measured.

    Attributes
    ----------
    number : str
        ``"1"`` to ``"6"``.
    statement : str
        The claim.
    origin : str
        ``"paper"`` (stated in the paper's abstract or results) or ``"ours"`` (beyond the paper).
    estimand : str
        What the estimate is, in points of accuracy (fractions) unless said.
    routers : str
        The routers it compares.
    train : str
        The train data of each side.
    """

    number: str
    statement: str
    origin: str
    estimand: str
    routers: str
    train: str


CLAIMS: tuple[ClaimSpec, ...] = (
    ClaimSpec("1", "query-answer routers degrade faster than query-only ones", "paper",
              "[mean QA(strongest) - mean QA(weakest)] - [mean QO(strongest) - mean QO(weakest)], "
              "per test question, averaged over seeds and questions",
              "query-answer: kNN, Avengers-cluster, classifier-logistic, CASCAL-GT, LLMRank; "
              "query-only: consensus-kNN, Smoothie-Train, DS-kNN, CASCAL",
              "unfiltered items of the run's strongest and weakest generators, full pool"),
    ClaimSpec("2", "CASCAL beats the best query-answer router on weak-generator data", "paper",
              "CASCAL - best query-answer router, per test question (the best: highest accuracy "
              "on the average over benchmarks and seeds at that k, chosen on the test split, "
              "which favours the query-answer side)",
              "CASCAL vs the query-answer routers of claim 1",
              "unfiltered items of the run's weakest generator, full pool"),
    ClaimSpec("3", "filtering on self-consistency and spread helps", "paper",
              "mean over (generator, router) of accuracy(both filters) - accuracy(no filter), per "
              "test question; the pool leaves out the generator's own model (every prompt mode), "
              "since the self-consistency filter keeps the items on which that model agrees with "
              "the key and a router would then pick it by construction",
              "kNN and CASCAL",
              "each generator's items filtered on both criteria vs unfiltered, the pool without "
              "the generator's model"),
    ClaimSpec("4", "self-consistency and spread explain generator quality", "paper",
              "Kendall concordance, within each benchmark, between a generator's diagnostic "
              "(sc_rate; mean_spread) and the mean accuracy (over seeds) of the claim-1 routers "
              "trained on its items; exact two-sided permutation p-value (generators permuted "
              "within benchmark)",
              "the routers of claim 1", "unfiltered items of every generator of the run"),
    ClaimSpec("5", "Dawid-Skene correctness routes better than majority consensus", "ours",
              "CASCAL[correctness=dawid-skene] - CASCAL, per test question",
              "CASCAL-DS vs CASCAL", "unfiltered items of the run's weakest generator"),
    ClaimSpec("6", "CASCAL's accuracy-cost area beats the models alone", "ours",
              "AIQ(CASCAL, weakest generator's items) - AIQ(best-single reference curve: the best "
              "affordable model per budget, chosen on real train data; RouterBench's zero "
              "router); top-1 only",
              "CASCAL vs best-single", "CASCAL: the weakest generator's items; best-single: real"),
)

#: Every change to a claim after it was first measured: (date, claim, change, why).
CHANGELOG: tuple[tuple[str, str, str, str], ...] = (
    ("2026-11-29", "6",
     "estimand changed from CASCAL's AIQ minus each fixed model's own AIQ to CASCAL's AIQ minus "
     "the best-single reference's curve (the best affordable model per budget)",
     "made after the first real results: a fixed model's own area is 0 for the costliest model, "
     "so the first estimand compared CASCAL with a degenerate curve; the change moved claim 6 "
     "from holds to does not hold on cpu. Because it followed the results, claim 6 is "
     "exploratory."),
    ("2026-12-02", "1-6",
     "paired resampling of test questions (both sides on the same questions) in place of "
     "intervals that treated the two sides as independent; 5 seeds (router seed and a bootstrap "
     "draw of the train items) instead of 1; both k; every benchmark beside the average; Holm "
     "adjustment within the confirmatory (claims 1-4 on the average) and exploratory families",
     "the unpaired intervals were too wide, one seed hid a training variance as large as the "
     "effects, and unadjusted verdicts over many contrasts overstate what holds"),
    ("2026-12-02", "3",
     "the pool of claim 3's runs leaves out the generator's own model",
     "with it in the pool, the self-consistency filter's gain partly measured which model wrote "
     "the data (kNN routed every query to it)"),
    ("2026-12-02", "4",
     "two-sided exact permutation p-value (was one-sided p < 0.05)",
     "one rule for every claim"),
    ("2026-12-02", "1, 2",
     "LLMRank, the paper's other query-answer baseline, joins the query-answer family",
     "it was missing (the logistic classifier stood in for it)"),
)


def claim_spec(number: str) -> ClaimSpec:
    """The :data:`CLAIMS` entry of ``number``."""
    return next(c for c in CLAIMS if c.number == number)


def claim_name(number: str) -> str:
    """``"<number>. <statement>"``, the ``claim`` column of the claims table."""
    spec = claim_spec(number)
    return f"{spec.number}. {spec.statement}" + (" (beyond the paper)" if spec.origin == "ours"
                                                 else "")
