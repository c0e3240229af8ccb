"""Package layout only; everything else is in pyproject.toml.

resources/ and projects/ stay at the top of the repository (where people look for
them) and install as the package data of studio.resources and studio.projects, so a
regular install finds them through importlib.resources (studio/packaged.py). pyproject
alone cannot map a top-level folder into a package while discovering the rest.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["studio", "studio.*", "nodes", "nodes.*"]), "studio.resources", "studio.projects"],
    package_dir={"studio.resources": "resources", "studio.projects": "projects"},
    package_data={
        "studio": ["tools/shipped_code.json"],  # the examples trusted as shipped (studio.tools.flow_code)
        "studio.resources": ["*.qss", "*.json", "icons/*"],
        "studio.projects": ["*.flow.json", "**/*.md", "**/*.txt", "**/*.csv", "**/*.json", "**/*.py"],
    },
    include_package_data=False,
)
