"""Installs the custseg package from lib/ with dependency ranges known to work together."""

from setuptools import find_packages, setup

setup(
    name="custseg",
    version="0.1.0",
    description="Customer segmentation with an autoencoder and k-means, as a PySpark job.",
    python_requires=">=3.10",
    package_dir={"": "lib"},
    packages=find_packages("lib"),
    install_requires=[
        "pyspark>=4.0,<5",
        # PySpark 4 does not support pandas 3 yet.
        "pandas<3,>=2.2",
        "numpy>=1.26,<3",
        "pyarrow>=15,<27",
        "pyyaml>=6,<7",
        "scikit-learn>=1.4,<2",
        # The run report's plots, drawn on the driver.
        "matplotlib>=3.8,<4",
    ],
    extras_require={
        # Only the driver trains; executors need none of this.
        "train": ["tensorflow-cpu>=2.16,<2.22"],
        # selenium drives the system's Chromium to check the report renders; nbclient runs the notebooks.
        "dev": ["pytest>=8,<10", "pytest-xdist>=3.5,<4", "hypothesis>=6.100,<7", "selenium>=4.20,<5",
                "nbclient>=0.10,<1", "nbformat>=5.10,<6", "ipykernel>=6.29,<8"],
    },
    entry_points={"console_scripts": ["custseg=custseg.cli:main"]},
)
