"""The one packaging step pyproject.toml cannot say: the wheel carries the course notebooks.

The lessons (notebooks/) and the student exercises (exercises/) stay where they are in the repository;
building a wheel copies them into seqlab/_course/, where `seqlab lessons DIR` finds them. The sdist
includes them (MANIFEST.in) so a wheel built from it has them too. solutions/ never ships.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
COURSE_FOLDERS = ("notebooks", "exercises")
# the results the lessons read (committed runs of the full protocols), beside the notebooks that read them
COURSE_DATA = ("notebooks/data/*", "notebooks/results/*")


class BuildPyWithCourse(build_py):
    def run(self):
        super().run()
        if self.editable_mode:  # an editable install reads the notebooks from the repository
            return
        for folder in COURSE_FOLDERS:
            notebooks = sorted((ROOT / folder).glob("*.ipynb"))
            if not notebooks:
                raise SystemExit(f"building seqlab: no notebooks in {ROOT / folder}; "
                                 f"build from the repository or from an sdist that includes them")
            target = Path(self.build_lib) / "seqlab" / "_course" / folder
            target.mkdir(parents=True, exist_ok=True)
            for notebook in notebooks:
                shutil.copyfile(notebook, target / notebook.name)
        for pattern in COURSE_DATA:
            for source in sorted(ROOT.glob(pattern)):
                target = Path(self.build_lib) / "seqlab" / "_course" / source.relative_to(ROOT)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)


setup(cmdclass={"build_py": BuildPyWithCourse})
