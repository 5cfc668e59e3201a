"""The Studio as ``AppTest`` runs it: ``app.py``, started from this folder.

Streamlit's AppTest treats a ``pages/`` folder beside its main script as legacy folder pages
and runs page files alone, without ``app.py``'s router and sidebar. This folder has no
``pages/``, so the app runs here exactly as the real server runs it. Switch pages with
``at.switch_page("../pages/edit.py")``.
"""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).resolve().parent.parent / "app.py"), run_name="__main__")
