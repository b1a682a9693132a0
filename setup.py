import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "keras_nest" / "__init__.py").read_text()).group(1)


# ONNX conversion (tf2onnx, onnx) and the runtimes that check the artifacts.
EXPORT = ["tf2onnx>=1.17", "onnx>=1.17", "onnxruntime>=1.20", "ai-edge-litert>=2.0"]


def requirements():
    lines = (HERE / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


# The JAX backend (CPU wheel; TPU and GPU builds: see the README's Backends section).
JAX = ["jax>=0.4.36"]

# create_model(weights="imagenet"): downloads from the Hugging Face hub; timm checkpoints are safetensors.
HUB = ["huggingface_hub>=0.25", "safetensors>=0.4"]

setup(
    name="keras-nest",
    version=VERSION,
    description="NesT (Nested Hierarchical Transformer) for Keras 3: models, training, interpretability.",
    long_description=(HERE / "README.md").read_text(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["keras_nest", "keras_nest.*"]),
    # Data files inside the package (installed by wheels and sdists alike).
    package_data={"keras_nest": ["imagenet_classes.tsv"]},
    python_requires=">=3.10",
    install_requires=requirements(),
    extras_require={
        "test": ["pytest>=8", "safetensors>=0.4", "jupytext>=1.16", "hypothesis>=6.100", "ruff>=0.5",
                 "psutil>=5.9", "tensorflow-datasets>=4.9", "prdc>=0.2", *HUB, *EXPORT, *JAX],
        "plots": ["matplotlib>=3.7"],
        "tfds": ["tensorflow-datasets>=4.9"],
        "export": EXPORT,
        "hub": HUB,
        "jax": JAX,
        "torch": ["torch>=2.1", "timm>=1.0", "safetensors>=0.4"],
    },
    entry_points={"console_scripts": ["keras-nest=keras_nest.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
