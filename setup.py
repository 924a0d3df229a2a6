from setuptools import find_packages, setup

setup(
    name="infogan_tf",
    version="0.1.0",
    description="A faithful TensorFlow 2 port of InfoGAN (Chen et al., 2016; openai/InfoGAN).",
    python_requires=">=3.10",
    packages=[*find_packages(include=["infogan_tf", "infogan_tf.*"]), "infogan_tf_launchers"],
    package_dir={"infogan_tf": "infogan_tf", "infogan_tf_launchers": "launchers"},
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.10,<4",
        "tensorflow-datasets>=4.9",
        "numpy>=1.26",
        "matplotlib>=3.8",
        "absl-py>=2.1",
        "tensorboard>=2.20",
        "scipy>=1.11",
        "importlib_resources>=6",  # tensorflow-datasets imports it to build a dataset but does not declare it
        "pillow>=10",  # already matplotlib's; writes the sampling command's animated GIFs
    ],
    extras_require={
        "test": ["pytest>=8", "pytest-xdist>=3.6", "ruff>=0.6", "nbclient>=0.10", "nbformat>=5.10", "ipykernel>=6.29"]
    },
    entry_points={
        "console_scripts": [
            "infogan-mnist=infogan_tf_launchers.run_mnist_exp:main",
            "infogan-evaluate=infogan_tf_launchers.evaluate:main",
            "infogan-sample=infogan_tf_launchers.sample:main",
            "infogan-export=infogan_tf_launchers.export:main",
        ]
    },
)
