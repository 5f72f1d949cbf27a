"""One paragraph per (benchmark, subject): what the generator is asked to imitate (paper §2.1).

The paper's generators never see a real question: they get a hand-written paragraph that
describes a category (skills tested, sub-topics, computational or conceptual nature, level),
written in the third person ("These questions ..."). These paragraphs do the same for the 42
subjects of the eight offline benchmarks; the paper's own benchmarks have theirs in
:mod:`rgd_utils.generation.paper_descriptions`.

How they were written: from general knowledge of each benchmark as its authors publish it
(the MMLU subject list, MMLU-Pro's category names, MedMCQA's subject names and its Indian
postgraduate entrance exams, the USMLE step outlines behind MedQA, the ARC, SciQ, OpenBookQA
and CommonsenseQA papers), and from the MMLU subject -> MMLU-Pro category map in
:data:`rgd_utils.benchmarks.MMLU_TO_MMLU_PRO`. No question of any split of any benchmark was
read while writing them, so they cannot leak test content into the generated data.

The MMLU paragraphs describe MMLU's questions grouped into MMLU-Pro's 14 categories (the
offline ``mmlu`` benchmark), which is why each one names the MMLU subjects it covers.
"""

from __future__ import annotations

from .paper_descriptions import BBEH, MMLU_PRO, SUPERGPQA

_MMLU: dict[str, str] = {
    "biology": (
        "These questions test biology at the high-school and introductory college level. They "
        "cover cell structure and function, cellular respiration and photosynthesis, Mendelian "
        "and molecular genetics, DNA replication, transcription and translation, evolution and "
        "natural selection, ecology and populations, and animal and plant physiology. Most are "
        "conceptual, asking which mechanism explains an observation or which statement about a "
        "process is true; a few need a short calculation such as a Hardy-Weinberg frequency or "
        "a genetic cross ratio."
    ),
    "chemistry": (
        "These questions test general and physical chemistry at the high-school and first-year "
        "college level. Topics include stoichiometry, gas laws, chemical equilibrium, acids and "
        "bases and pH, thermochemistry, electrochemistry, reaction kinetics, atomic structure, "
        "periodic trends, bonding and molecular geometry, and some spectroscopy. Many are "
        "computational, asking for a numeric result from given quantities; others ask which "
        "species or trend is correct and why."
    ),
    "computer science": (
        "These questions test computer science at the high-school and undergraduate level: "
        "algorithms and their running time, data structures, programming logic (often reading "
        "a short code fragment and predicting its output), computer architecture and number "
        "representation, operating systems, networking, computer security (cryptography, "
        "common attacks and defences), and machine learning basics such as overfitting, "
        "regularisation and model evaluation. They mix reasoning about code with recall of "
        "definitions."
    ),
    "economics": (
        "These questions test introductory and intermediate economics: microeconomics "
        "(supply and demand, elasticity, consumer choice, costs, market structures, market "
        "failures), macroeconomics (GDP, inflation, unemployment, fiscal and monetary policy, "
        "money supply, exchange rates) and econometrics (regression assumptions, estimators, "
        "hypothesis tests, time series). Most are conceptual applications of a model to a "
        "scenario; some ask for a short calculation such as a multiplier or an elasticity."
    ),
    "engineering": (
        "These questions test electrical engineering at the undergraduate level: circuit "
        "analysis with resistors, capacitors and inductors, AC phasors and power, diodes and "
        "transistors, operational amplifiers, digital logic, signals and systems, "
        "electromagnetics, electric machines and measurement instruments. Many are "
        "computational, asking for a voltage, current, frequency or power from given values; "
        "others ask about the behaviour or purpose of a device."
    ),
    "health": (
        "These questions test medicine and health science, from introductory to professional "
        "level: human anatomy, clinical knowledge and examination, college-level medicine, "
        "medical genetics, nutrition, virology, and the biology and care of ageing. Many are "
        "short clinical vignettes describing a patient and asking for the most likely "
        "diagnosis, mechanism or next step; others ask for a fact about an organ, nutrient, "
        "virus or inherited disorder. They are conceptual and knowledge-heavy."
    ),
    "history": (
        "These questions test history at the high-school and introductory college level: "
        "United States history, European history, world history, and prehistory and early "
        "human societies. Many quote a short primary source (a speech, law, letter or treaty) "
        "and ask about its context, its author's point of view or its consequences; others ask "
        "about causes and effects of events, movements and reforms. They need reading "
        "comprehension and historical knowledge rather than calculation."
    ),
    "law": (
        "These questions test law at the level of law school and the bar exam: contracts, "
        "torts, criminal law and procedure, constitutional law, evidence, property, civil "
        "procedure, jurisprudence and international law. Many present a detailed fact pattern "
        "and ask which legal outcome, rule or argument is most likely to prevail; others ask "
        "about legal theories and doctrines. They require careful reading and applying rules "
        "to facts, not calculation."
    ),
    "math": (
        "These questions test mathematics from elementary to college level: arithmetic and word "
        "problems, high-school algebra, geometry and trigonometry, statistics and probability, "
        "calculus, linear algebra, and abstract algebra (groups, rings, fields). Most are "
        "computational, asking for a number, an expression or which statement about a "
        "structure is true, and they need several exact steps of working."
    ),
    "other": (
        "These questions cover a mix of general and professional topics: world geography and "
        "global facts and statistics, government and politics, United States foreign policy and "
        "security studies, sociology, public relations, human sexuality, professional "
        "accounting (financial statements, auditing, tax), and miscellaneous general "
        "knowledge. Most are factual or conceptual recall at the high-school to professional "
        "level; the accounting questions often need a short calculation."
    ),
    "philosophy": (
        "These questions test philosophy and reasoning: ethical theories and moral disputes, "
        "judging whether an everyday action described in a short scenario is morally wrong, "
        "history of philosophy and key arguments of major philosophers, formal logic "
        "(translating sentences into symbols, validity, truth tables), informal logical "
        "fallacies, and world religions. They are conceptual and require precise reading of "
        "arguments at the introductory college level."
    ),
    "physics": (
        "These questions test physics and astronomy at the high-school and college level: "
        "mechanics, energy and momentum, waves and optics, thermodynamics, electricity and "
        "magnetism, modern and quantum physics, and astronomy (the solar system, stars, "
        "galaxies). Many are computational, asking for a numeric quantity from given values "
        "with the right units; conceptual ones ask what happens to a quantity when a condition "
        "changes."
    ),
    "psychology": (
        "These questions test psychology at the high-school, college and professional "
        "(licensing exam) level: research methods and statistics, biological bases of "
        "behaviour, sensation and perception, learning and memory, development across the "
        "lifespan, personality, psychological disorders and their treatment, social "
        "psychology, and professional ethics, testing and assessment. They are mostly "
        "conceptual, asking which theory, term or finding fits a described situation."
    ),
    "business": (
        "These questions test business at the undergraduate level: management (organisational "
        "behaviour, leadership, strategy, motivation theories), marketing (segmentation, the "
        "marketing mix, consumer behaviour, branding) and business ethics (corporate social "
        "responsibility, stakeholder theory, ethical decision making). They are mostly "
        "conceptual, asking for the term or theory that matches a description, and some fill "
        "several blanks in a sentence at once."
    ),
}

_MEDMCQA: dict[str, str] = {
    "Anaesthesia": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "anaesthesiology: pharmacology of induction agents, inhalational agents, local "
        "anaesthetics, opioids and muscle relaxants, airway management and intubation, "
        "monitoring, regional blocks, complications such as malignant hyperthermia, and "
        "anaesthesia equipment. They are short factual recall questions at the level of a "
        "medical graduate."
    ),
    "Anatomy": (
        "These questions come from Indian postgraduate medical entrance exams and test human "
        "anatomy: gross anatomy of the limbs, thorax, abdomen, head and neck, neuroanatomy, "
        "embryology and histology. Typical questions ask for a nerve supply, a blood supply, an "
        "attachment, the content of a region, or the effect of injuring a structure. They are "
        "factual recall at the level of a medical graduate."
    ),
    "Biochemistry": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "medical biochemistry: metabolism of carbohydrates, lipids and amino acids, enzymes and "
        "their kinetics, vitamins and minerals, molecular biology and genetics, and inborn "
        "errors of metabolism. They ask for the enzyme, cofactor, pathway or deficiency behind a "
        "finding. They are factual and conceptual recall at the level of a medical graduate."
    ),
    "Dental": (
        "These questions come from Indian postgraduate dental entrance exams and test dental "
        "sciences: dental anatomy and histology, dental materials, oral pathology, "
        "periodontics, endodontics, prosthodontics, orthodontics, oral surgery, pedodontics "
        "and community dentistry. They ask for properties of materials, features of lesions, "
        "instruments, or steps of treatment. They are short factual recall questions at the "
        "level of a dental graduate."
    ),
    "ENT": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "otorhinolaryngology: anatomy and diseases of the ear, nose, paranasal sinuses, pharynx "
        "and larynx, hearing tests and hearing loss, vertigo, tumours of the head and neck, and "
        "ENT surgical procedures. They are short factual or clinical recall questions at the "
        "level of a medical graduate."
    ),
    "Forensic Medicine": (
        "These questions come from Indian postgraduate medical entrance exams and test forensic "
        "medicine and toxicology: identification, time since death and post-mortem changes, "
        "injuries and wounds, asphyxial deaths, sexual offences, poisons and their antidotes, "
        "and medical law and ethics including Indian legal sections. They are factual recall "
        "questions at the level of a medical graduate."
    ),
    "Gynaecology & Obstetrics": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "obstetrics and gynaecology: physiology of pregnancy, antenatal care, labour and its "
        "complications, postpartum care, contraception, menstrual disorders, infertility, and "
        "gynaecological tumours. Some are short clinical scenarios asking for the diagnosis or "
        "management; most are factual recall at the level of a medical graduate."
    ),
    "Medicine": (
        "These questions come from Indian postgraduate medical entrance exams and test internal "
        "medicine: cardiology, respiratory, renal, gastrointestinal and liver disease, "
        "endocrinology, haematology, infectious diseases, neurology and rheumatology. They "
        "ask for the most likely diagnosis, the investigation of choice, the drug of choice or "
        "a characteristic feature of a disease. They are clinical and factual at the level of a "
        "medical graduate."
    ),
    "Microbiology": (
        "These questions come from Indian postgraduate medical entrance exams and test medical "
        "microbiology: bacteriology, virology, mycology, parasitology, immunology, and "
        "laboratory methods such as staining, culture media and serological tests. They ask "
        "for the causative organism, its virulence factor, a diagnostic test or a vector. They "
        "are factual recall at the level of a medical graduate."
    ),
    "Ophthalmology": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "ophthalmology: anatomy and optics of the eye, refractive errors, cornea, lens and "
        "cataract, glaucoma, uvea, retina, neuro-ophthalmology, squint, and ocular pharmacology "
        "and surgery. They are short factual or clinical recall questions at the level of a "
        "medical graduate."
    ),
    "Orthopaedics": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "orthopaedics: fractures and dislocations and their complications, nerve injuries, bone "
        "and joint infections, bone tumours, metabolic bone disease, paediatric orthopaedic "
        "conditions, and named clinical signs and tests. They are short factual or clinical "
        "recall questions at the level of a medical graduate."
    ),
    "Pathology": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "pathology: cell injury, inflammation and repair, neoplasia, haematology and blood "
        "banking, immunopathology, and the systemic pathology of each organ, often asking for a "
        "characteristic microscopic feature, marker or mechanism of a disease. They are "
        "conceptual and factual recall at the level of a medical graduate."
    ),
    "Pediatrics": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "paediatrics: growth and developmental milestones, neonatology, nutrition and "
        "immunisation schedules, genetic syndromes, and infectious, cardiac, renal and "
        "neurological diseases of childhood. Some are short clinical scenarios; most are "
        "factual recall at the level of a medical graduate."
    ),
    "Pharmacology": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "pharmacology: pharmacokinetics and pharmacodynamics, autonomic drugs, cardiovascular, "
        "CNS, antimicrobial, anticancer and endocrine drugs, their mechanisms of action, drugs "
        "of choice, adverse effects, contraindications and interactions. They are factual "
        "recall at the level of a medical graduate."
    ),
    "Physiology": (
        "These questions come from Indian postgraduate medical entrance exams and test human "
        "physiology: nerve and muscle, blood, cardiovascular and respiratory physiology, renal "
        "and acid-base balance, the gastrointestinal system, endocrinology and reproduction, "
        "and neurophysiology and special senses. They ask for normal values, mechanisms and "
        "the effect of a change on a variable. They are conceptual at the level of a medical "
        "graduate."
    ),
    "Psychiatry": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "psychiatry: classification and features of psychotic, mood, anxiety, personality and "
        "substance use disorders, child psychiatry, psychopharmacology and its side effects, "
        "and psychotherapies. They are short factual or clinical recall questions at the level "
        "of a medical graduate."
    ),
    "Radiology": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "radiology and radiotherapy: imaging modalities and their physics, radiation units and "
        "protection, characteristic signs of diseases on X-ray, ultrasound, CT and MRI, contrast "
        "agents, and radiosensitivity of tissues and tumours. They are factual recall at the "
        "level of a medical graduate."
    ),
    "Skin": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "dermatology and venereology: skin structure, named lesions and signs, infections and "
        "infestations of the skin, leprosy, papulosquamous and bullous diseases, pigmentary "
        "disorders, and sexually transmitted infections. They are short factual recall "
        "questions at the level of a medical graduate."
    ),
    "Social & Preventive Medicine": (
        "These questions come from Indian postgraduate medical entrance exams and test "
        "community medicine: epidemiology and study designs, screening test measures, "
        "biostatistics, vaccines and the cold chain, communicable and non-communicable disease "
        "control, nutrition, environmental and occupational health, and India's national "
        "health programmes. Some need a short calculation such as a rate or a sensitivity; most "
        "are factual recall at the level of a medical graduate."
    ),
    "Surgery": (
        "These questions come from Indian postgraduate medical entrance exams and test general "
        "surgery: trauma and burns, wounds and shock, and surgical diseases of the breast, "
        "thyroid, gastrointestinal tract, hepatobiliary system, urinary tract, blood vessels "
        "and hernias, with their investigations, operations and complications. They are "
        "clinical and factual recall at the level of a medical graduate."
    ),
    "Unknown": (
        "These questions come from Indian postgraduate medical entrance exams but carry no "
        "subject label, so they can be about any medical subject: basic sciences such as "
        "anatomy, physiology and pharmacology, or clinical subjects such as medicine, surgery "
        "and obstetrics. They are short factual or clinical recall questions at the level of a "
        "medical graduate."
    ),
}

_SINGLE_SUBJECT: dict[str, dict[str, str]] = {
    "arc_challenge": {
        "arc_challenge": (
            "These questions are grade-school science exam questions (roughly grades 3 to 9) "
            "chosen because simple word matching or retrieval fails on them. They cover earth "
            "and space science, life science, physical science and scientific inquiry, such "
            "as weather and the water cycle, ecosystems and heredity, forces, energy and "
            "matter, and how to design a fair experiment. They need a few steps of reasoning "
            "or applying a principle to a new everyday situation, not just recalling a fact."
        ),
    },
    "arc_easy": {
        "arc_easy": (
            "These questions are grade-school science exam questions (roughly grades 3 to 9) "
            "about earth and space science, life science, physical science and scientific "
            "practice: rocks and minerals, seasons and the solar system, plants and animals "
            "and their habitats, states of matter, simple machines, electricity and magnetism, "
            "and measurement tools. They are mostly direct recall or one-step application of "
            "a basic science fact."
        ),
    },
    "sciq": {
        "sciq": (
            "These questions are science exam questions at the middle- and high-school level in "
            "physics, chemistry, biology and earth science: for example cell biology, genetics, "
            "ecology, chemical reactions and bonding, energy, forces and waves, geology and "
            "astronomy. Each asks for a specific term, process, quantity or example, and the "
            "wrong options are plausible terms from the same topic. They are mostly factual "
            "recall with occasional simple reasoning."
        ),
    },
    "openbookqa": {
        "openbookqa": (
            "These questions test elementary-school science in an open-book style: each one "
            "relies on a core science fact (for example that metals conduct heat, that plants "
            "need sunlight, or that friction produces heat) combined with everyday common "
            "knowledge, applied to a new situation. The question is often a short sentence to "
            "complete. They need two small reasoning steps rather than calculation."
        ),
    },
    "commonsenseqa": {
        "commonsenseqa": (
            "These questions test everyday commonsense knowledge: where objects are usually "
            "found, what people do and why, causes and results of ordinary actions, feelings, "
            "and the typical uses and properties of things. Each asks about one concept and "
            "the options are short words or phrases that are all related to it, only one of "
            "which fits best. They need intuitive reasoning about ordinary life, not specialist "
            "knowledge or calculation."
        ),
    },
}

_MEDQA: dict[str, str] = {
    "step1": (
        "These questions are in the style of the USMLE Step 1 licensing exam. Each is a "
        "clinical vignette describing a patient's history, examination, vital signs and "
        "laboratory results, followed by a question about the underlying basic science: the "
        "mechanism of disease, the affected structure, the action or adverse effect of a drug, "
        "the responsible microorganism, or a biochemical or genetic defect. They need "
        "multi-step reasoning from findings to mechanism at the level of a second-year "
        "medical student."
    ),
    "step2&3": (
        "These questions are in the style of the USMLE Step 2 CK and Step 3 licensing exams. "
        "Each is a clinical vignette describing a patient's presentation, history, examination, "
        "vital signs and test results, followed by a question about clinical care: the most "
        "likely diagnosis, the most appropriate next step in management, the best initial or "
        "confirmatory test, treatment, prevention and screening, or prognosis. They need "
        "multi-step clinical reasoning at the level of a final-year medical student or "
        "resident."
    ),
}

#: Subject descriptions by benchmark, then subject: the offline benchmarks' 42 paragraphs and
#: the paper's benchmarks' (MedMCQA's subjects are the same in both loaders).
DESCRIPTIONS: dict[str, dict[str, str]] = {
    "mmlu": _MMLU,
    "medmcqa": _MEDMCQA,
    **_SINGLE_SUBJECT,
    "medqa": _MEDQA,
    "mmlu_pro": MMLU_PRO,
    "supergpqa": SUPERGPQA,
    "medmcqa_hub": _MEDMCQA,
    "bbeh": BBEH,
}


def description_for(benchmark: str, subject: str) -> str:
    """Return the description paragraph of one subject of one benchmark.

    Parameters
    ----------
    benchmark : str
        A benchmark with descriptions (keys of :data:`DESCRIPTIONS`).
    subject : str
        A subject of that benchmark, spelled as in the question table.

    Returns
    -------
    str
        The third-person paragraph given to the generator.

    Raises
    ------
    KeyError
        For an unknown benchmark or subject, listing the known ones.
    """
    if benchmark not in DESCRIPTIONS:
        raise KeyError(
            f"no subject descriptions for benchmark {benchmark!r}; known benchmarks: "
            f"{sorted(DESCRIPTIONS)}"
        )
    subjects = DESCRIPTIONS[benchmark]
    if subject not in subjects:
        raise KeyError(
            f"no description for subject {subject!r} of benchmark {benchmark!r}; known "
            f"subjects: {sorted(subjects)}"
        )
    return subjects[subject]
