"""Subject descriptions of the paper's benchmarks: MMLU-Pro, SuperGPQA and BBEH.

One third-person paragraph per subject, spelled exactly as the Hub loaders
(:mod:`rgd_utils.benchmarks.hub`) write the ``subject`` column: MMLU-Pro's 14 ``category``
values, SuperGPQA's 13 ``discipline`` values and the 9 BBEH task names. (MedMCQA's 21 subjects
are the offline benchmark's, so the same paragraphs serve both loaders.)

How they were written: for this project, in its own words, from each benchmark's own
documentation: the MMLU-Pro dataset card (its sources: MMLU questions with trivial ones
removed, STEM problems from the web, TheoremQA and SciBench; harder, reasoning-heavy questions
with more distractors), the SuperGPQA paper and card (graduate-level questions written from
textbooks, journals and university exams by domain experts, across 13 disciplines, 72 fields
and 285 subfields, many of them calculations), and the BIG-Bench Extra Hard paper (each task a
harder replacement of a BIG-Bench Hard task probing the same skill). No question of any split
was read while writing them. Unlike the paper's own paragraphs, causal understanding has its
own description (the paper's repeats shuffled objects').
"""

from __future__ import annotations

MMLU_PRO: dict[str, str] = {
    "biology": (
        "These questions test college-level biology with an emphasis on reasoning rather than "
        "recall: molecular and cell biology, genetics and inheritance (pedigrees, linkage, "
        "population genetics), evolution, physiology of animals and plants, ecology and "
        "developmental biology. Many describe an experiment or a mutant and ask what result "
        "or mechanism follows; some need a short calculation such as an allele frequency or a "
        "recombination distance. Wrong options are closely related processes or terms."
    ),
    "business": (
        "These questions test undergraduate business knowledge, and most are quantitative: "
        "financial mathematics (interest, annuities, discounts, depreciation, loan payments), "
        "accounting entries and ratios, markups and pricing, payroll and taxes, together with "
        "conceptual questions on marketing, management, organisational behaviour and business "
        "ethics. A typical item gives a short business scenario with figures and asks for a "
        "dollar amount or a rate; the wrong options are results of common slips."
    ),
    "chemistry": (
        "These questions test college chemistry and often require multi-step calculation: "
        "stoichiometry and gas laws, thermodynamics and equilibrium constants, acid-base and "
        "solubility equilibria, electrochemistry, kinetics and rate laws, quantum chemistry "
        "and spectroscopy, and some organic and inorganic structure and reactivity. Numbers "
        "and units must be carried carefully, and wrong options are nearby numerical values "
        "from typical mistakes."
    ),
    "computer science": (
        "These questions test undergraduate computer science: algorithms and their complexity, "
        "data structures, tracing the output of short programs, computer architecture "
        "(pipelines, caches, instruction timing), operating systems, networks, databases, "
        "formal languages and automata, security and machine learning fundamentals. Many are "
        "worked problems that need careful step-by-step execution or counting rather than "
        "recall of a definition."
    ),
    "economics": (
        "These questions test microeconomics, macroeconomics and econometrics at the "
        "undergraduate level: consumer and producer theory, elasticities, market structures "
        "and game-theoretic pricing, welfare and externalities, national accounts, inflation, "
        "unemployment, monetary and fiscal policy, open-economy macroeconomics, and regression "
        "and time-series reasoning. They combine applying a model to a scenario with short "
        "calculations such as multipliers, elasticities or equilibrium prices."
    ),
    "engineering": (
        "These questions test engineering problem solving at the undergraduate level, mostly "
        "computational: electric circuits and machines, electronics, signals and control, "
        "electromagnetics, thermodynamics and heat transfer, fluid mechanics, strength of "
        "materials and mechanical design. A typical item states a device or system with its "
        "parameters and asks for a quantity with units; several formulas and unit conversions "
        "are needed, and wrong options are plausible magnitudes."
    ),
    "health": (
        "These questions test medicine and health science: anatomy and physiology, clinical "
        "knowledge and diagnosis, pharmacology, medical genetics, nutrition, virology and "
        "public health. Many are clinical vignettes asking for the most likely diagnosis, "
        "mechanism, investigation or management step; others ask for a precise fact about an "
        "organ, drug, nutrient or pathogen. They are knowledge-heavy with some clinical "
        "reasoning, and the wrong options are medically plausible."
    ),
    "history": (
        "These questions test world, European and United States history and prehistory at "
        "the high-school and college level. Many quote a primary source such as a speech, "
        "treaty, letter or chronicle and ask about its context, its author's perspective, "
        "the development it reflects or what followed from it; others ask about causes and "
        "consequences of events and movements. They require reading comprehension combined "
        "with historical knowledge, not calculation."
    ),
    "law": (
        "These questions test United States law at the level of a bar examination, plus "
        "international and jurisprudential questions: constitutional law, contracts, torts, "
        "criminal law and procedure, evidence, real property and civil procedure. Most are "
        "fact patterns describing parties and events, asking which legal outcome, claim, "
        "defence or rule applies. They need precise application of doctrine to facts, and "
        "the wrong options are legally plausible misreadings."
    ),
    "math": (
        "These questions are computation-heavy mathematics exercises at the undergraduate "
        "level: algebra, calculus of one and several variables, differential equations, "
        "linear algebra, probability and statistics, combinatorics, number theory and abstract "
        "algebra, some drawn from theorem-based problem sets. Each asks for a value, an "
        "expression or a property that must be derived in several steps; wrong options are "
        "close numbers or forms that result from typical errors."
    ),
    "other": (
        "These questions cover a broad mix of knowledge outside the main academic categories: "
        "global facts and statistics, marketing and management, professional accounting, "
        "human ageing, nutrition, miscellaneous general knowledge and everyday facts about "
        "the world. Most are short factual or applied questions with plausible distractors, "
        "answered by knowledge rather than long calculation."
    ),
    "philosophy": (
        "These questions test philosophy at the undergraduate level: ethics and moral "
        "theories, logic (validity, symbolic translation, fallacies), epistemology, "
        "metaphysics, philosophy of mind and of religion, political philosophy, and the "
        "positions of major historical philosophers. Many ask which claim a philosopher "
        "holds, which argument is valid, or how a sentence is best symbolised; they require "
        "careful conceptual distinctions."
    ),
    "physics": (
        "These questions test physics at the college level and are mostly quantitative: "
        "classical mechanics, electricity and magnetism, waves and optics, thermodynamics and "
        "statistical physics, special relativity, quantum mechanics, and atomic and nuclear "
        "physics. A typical item describes a physical situation with given values and asks "
        "for a numerical answer with units, derived in several steps; wrong options are "
        "close values from common slips."
    ),
    "psychology": (
        "These questions test psychology at the introductory and professional level: "
        "learning and conditioning, memory and cognition, sensation and perception, "
        "developmental, social and personality psychology, psychological disorders and "
        "treatments, research methods and statistics, testing and assessment, and "
        "professional ethics. Many present a short scenario or study and ask which concept, "
        "theory or finding it illustrates."
    ),
}

SUPERGPQA: dict[str, str] = {
    "Agronomy": (
        "These questions test graduate-level agricultural science: crop science and breeding, "
        "soil science and plant nutrition, plant protection, horticulture, forestry, animal "
        "husbandry and veterinary medicine, and aquaculture. They ask about mechanisms (for "
        "example the physiology behind a yield trait or a disease), about management practice, "
        "and sometimes for a calculation such as a fertiliser rate or a heritability, at the "
        "level of a specialist's exam or textbook."
    ),
    "Economics": (
        "These questions test economics at the graduate level: advanced microeconomic and "
        "macroeconomic theory, econometrics, finance and financial economics, public finance, "
        "international and industrial economics, and economic statistics. Many are worked "
        "problems that derive an equilibrium, an optimal choice, a price or a test statistic "
        "from a formal model; others ask which theoretical result or policy conclusion holds."
    ),
    "Education": (
        "These questions cover education, psychology and physical education at the graduate "
        "level: theories of learning and instruction, curriculum and assessment, educational "
        "psychology and measurement, developmental and cognitive psychology, and sports "
        "science and training methods. Most are conceptual, asking which theory, principle or "
        "research finding fits a description, with some calculations in measurement and "
        "statistics."
    ),
    "Engineering": (
        "These questions test graduate-level engineering across many fields: mechanical, "
        "electrical and electronic, civil and structural, chemical and materials engineering, "
        "computer science and technology, control, communication, power, transportation, "
        "optical, nuclear, aerospace and environmental engineering, among others. Many are "
        "calculations that apply a specialised formula or design procedure to given data and "
        "ask for a quantity with units; others test the principles and standards of a field."
    ),
    "History": (
        "These questions test history at the graduate level, including world history, Chinese "
        "history and archaeology: political and institutional developments, economic and "
        "social change, historiography, historical documents and periodisation, and "
        "archaeological cultures and methods. They ask for precise knowledge of events, "
        "people, sources and interpretations, and reasoning about causes and context."
    ),
    "Law": (
        "These questions test law and political science at the graduate level: "
        "constitutional, civil, criminal, administrative, commercial, procedural and "
        "international law, legal theory, and political theory and institutions. Many present "
        "a legal scenario and ask which rule, doctrine or outcome applies; others ask about "
        "legal concepts and their distinctions. They need exact knowledge of legal principles "
        "and careful application."
    ),
    "Literature and Arts": (
        "These questions test literature and the arts at the graduate level: Chinese and "
        "foreign language and literature, linguistics, journalism and communication, musicology "
        "and music theory, fine arts, drama and film, and design. They ask about works, "
        "authors, movements, styles and techniques, about the analysis of a text, a score or "
        "an artwork, and about theory; some music-theory items require working out intervals, "
        "chords or rhythms."
    ),
    "Management": (
        "These questions test management at the graduate level: business administration, "
        "management science and engineering (operations research, optimisation, decision "
        "analysis, project scheduling), public administration, and library, information and "
        "archival science. They mix conceptual questions on organisations, strategy and "
        "policy with quantitative problems such as linear programming, inventory, queuing or "
        "financial calculations."
    ),
    "Medicine": (
        "These questions test medicine at the graduate level: basic medical sciences, clinical "
        "medicine and its specialties, pharmacy and pharmacology, stomatology, public health "
        "and preventive medicine, nursing, and traditional Chinese medicine. Many are clinical "
        "or mechanistic questions that ask for a diagnosis, a mechanism, a drug property or a "
        "treatment principle; some require dose or epidemiological calculations."
    ),
    "Military Science": (
        "These questions test military science at the graduate level: military theory and "
        "strategy, operational art and tactics, command and organisation, military history, "
        "military logistics and equipment, and the technology of weapons and defence systems. "
        "They ask for knowledge of doctrines, principles, historical campaigns and technical "
        "characteristics, and occasionally for a calculation about a system's performance."
    ),
    "Philosophy": (
        "These questions test philosophy at the graduate level: Western, Chinese and Marxist "
        "philosophy, logic, ethics, aesthetics, philosophy of science, and philosophy of "
        "religion. They ask about the positions and arguments of philosophers and schools, "
        "the meaning of central concepts, and the validity of reasoning, and require fine "
        "conceptual distinctions between closely related views."
    ),
    "Science": (
        "These questions test the natural sciences at the graduate level: mathematics, "
        "physics, chemistry, biology, astronomy, geography, geology, atmospheric science, "
        "oceanography and systems science. A large share are calculations or derivations "
        "(for example an integral, a quantum or statistical-mechanics result, a reaction "
        "yield or an orbital parameter); the others test precise specialist knowledge of "
        "concepts and phenomena."
    ),
    "Sociology": (
        "These questions test sociology at the graduate level: sociological theory and its "
        "classical and contemporary thinkers, social structure, stratification and mobility, "
        "demography, urban and rural sociology, social policy and social work, and research "
        "methods and social statistics. Most are conceptual, asking which theory, concept or "
        "finding explains a described situation; a few require a statistical calculation."
    ),
}

BBEH: dict[str, str] = {
    "bbeh_boardgame_qa": (
        "These questions test defeasible, many-hop logical reasoning. Each describes the "
        "current state of an imaginary board game (which players or animals have which "
        "properties and objects), a long list of rules, some of which conflict, and "
        "preferences saying which rule wins a conflict. The question asks whether a "
        "statement about the game is proved, disproved, or unknown from this information, "
        "which requires chaining several rules while resolving conflicts and ignoring "
        "distracting facts."
    ),
    "bbeh_boolean_expressions": (
        "These questions test the step-by-step evaluation of long, deeply nested logical "
        "expressions built from True and False, the operators not, and and or, and embedded "
        "sub-expressions such as simple arithmetic comparisons or short statements whose "
        "truth must first be determined. Several candidate expressions are listed and "
        "exactly one evaluates to true; finding it requires careful evaluation of operator "
        "precedence and many nested parentheses."
    ),
    "bbeh_causal_understanding": (
        "These questions test causal judgement as ordinary people make it. Each is a short "
        "story about people, actions and outcomes, sometimes involving intentions, norms, "
        "counterfactuals, or whether a factor was necessary or sufficient for an outcome, "
        "followed by a question such as whether one agent caused the outcome. The answer is "
        "what most people would reply: Yes, No, or Ambiguous when people would be split, so "
        "it needs intuitive reasoning about causation and responsibility rather than formal "
        "logic alone."
    ),
    "bbeh_disambiguation_qa": (
        "These questions test the resolution of pronoun reference in context. Each gives a "
        "passage of several sentences with one or more pronouns whose antecedents are either "
        "determined by the context and world knowledge (roles, typical relations, who did "
        "what) or genuinely ambiguous. The options state which person or thing each pronoun "
        "refers to, or that the reference is ambiguous, and choosing correctly requires "
        "tracking every pronoun across the passage."
    ),
    "bbeh_geometric_shapes": (
        "These questions test geometric reasoning about drawings given as text. Each gives an "
        "SVG path with many move and line commands (sometimes arcs), with coordinates, that "
        "draws one or more figures, and asks which shapes, from a numbered list such as "
        "triangles, rectangles, squares, trapezoids or kites, appear when the path is drawn. "
        "Answering requires reconstructing the segments, checking which ones connect, and "
        "computing lengths and angles."
    ),
    "bbeh_hyperbaton": (
        "These questions test the induction and application of a rule of word order. Each "
        "first lists example phrases that are correct in an invented variant of English "
        "whose adjective order differs from standard English (for example opinion, size, "
        "age, shape, colour, origin, material and purpose in a new order), then lists "
        "candidate phrases and asks which of them follow that variant's order. Solving it "
        "needs inferring a partial order of adjective categories from examples and checking "
        "each phrase against it."
    ),
    "bbeh_movie_recommendation": (
        "These questions test reasoning about people's tastes in films. Each describes which "
        "well-known movies one or more people liked or disliked and asks which option, a "
        "set of movies, is most similar to them in terms of whether the same people would "
        "like them. Answering requires knowledge of popular films (genre, era, tone, "
        "audience) and comparing several candidate sets rather than single titles."
    ),
    "bbeh_shuffled_objects": (
        "These questions test long-horizon state tracking. A group of people each start with "
        "an object, a position or a partner, and then a long sequence of pairwise swaps and "
        "exchanges happens, sometimes described indirectly or with steps that must be "
        "inferred. The question asks who holds a given object, or what a given person has, "
        "at the end, which requires updating the full assignment correctly after every step."
    ),
    "bbeh_nycc": (
        "These questions test the understanding of humour. Each describes a New Yorker "
        "cartoon in words (the scene, the characters and what is unusual about it) and "
        "lists several candidate captions from the magazine's caption contest; the question "
        "asks which caption is the funniest as judged by the contest's readers. Answering "
        "requires grasping the incongruity in the scene, wordplay and cultural references, "
        "and comparing captions that are all plausible."
    ),
}
