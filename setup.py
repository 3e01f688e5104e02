"""Installable package ``lda_tf`` (``pip install -e .[test]``)."""

import re
from pathlib import Path

from setuptools import find_packages, setup

VERSION = re.search(r'__version__ = "([^"]+)"', Path("lda_tf/__init__.py").read_text()).group(1)

setup(
    name="lda_tf",
    version=VERSION,
    description="Learnable optimization algorithms (LOA / LDA) for MRI reconstruction in "
    "TensorFlow 2 / Keras 3",
    long_description=Path("README.md").read_text(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["lda_tf", "lda_tf.*"]),
    package_data={"lda_tf.data": ["sample/*"], "lda_tf": ["reference/*.csv"]},
    python_requires=">=3.10",
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "numpy",
        "nibabel",
        "scikit-image",
        "absl-py",
        "h5py",
        # tf.summary and the TensorBoard UI; TensorFlow 2.21 no longer installs it.
        "tensorboard",
        # Figures of the reproduced tables (lda_tf/papers/figures.py).
        "matplotlib",
    ],
    extras_require={
        # ruff: `make lint` (format check and lint, settings in pyproject.toml); pinned, since its
        # formatting changes between releases.
        "test": ["pytest", "ruff==0.17.6"],
        # Only data_prep/make_sample.py needs it (the template it slices ships with nilearn).
        "sample": ["nilearn"],
    },
)
