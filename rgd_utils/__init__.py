"""rgd_utils: the study's code; the notebooks tell the story and call it."""

import warnings

# huggingface_hub (and so the LLM and embedding caches) imports tqdm.auto, which in a notebook
# kernel without ipywidgets warns "IProgress not found" and falls back to text progress bars:
# the text bars are what the study wants, so the warning is only noise in every notebook.
warnings.filterwarnings("ignore", message="IProgress not found", module="tqdm")
