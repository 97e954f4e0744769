"""``configs/dl4all/metafile.yml`` (mmpretrain's metafile format) lists
every config of the folder, and each listed config exists and builds."""
import glob
import os.path as osp

import pytest
import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmpretrain.registry import MODELS

import dl4all_mm  # noqa: F401  (registers the components)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
FOLDER = osp.join(REPO, 'configs', 'dl4all')
with open(osp.join(FOLDER, 'metafile.yml')) as f:
    META = yaml.safe_load(f)
LISTED = [m['Config'] for m in META['Models']]


def test_collection_and_every_config_listed():
    names = {c['Name'] for c in META['Collections']}
    assert names == {'DL4ALL'}
    assert osp.isfile(osp.join(REPO, META['Collections'][0]['README']))
    assert all(m['In Collection'] in names for m in META['Models'])
    assert len(set(LISTED)) == len(LISTED)
    shipped = {
        osp.relpath(p, REPO)
        for p in glob.glob(osp.join(FOLDER, '*.py'))
    }
    assert set(LISTED) == shipped, (set(LISTED) ^ shipped)
    for model in META['Models']:
        assert model['Name'] == osp.splitext(osp.basename(model['Config']))[0]


@pytest.mark.parametrize('config', LISTED)
def test_listed_config_builds(config):
    path = osp.join(REPO, config)
    assert osp.isfile(path), path
    cfg = Config.fromfile(path)
    cfg.model.backbone.pop('init_cfg', None)  # no checkpoint files here
    if 'pretrained_imagenet' in cfg.model.backbone:
        cfg.model.backbone.pretrained_imagenet = False
    init_default_scope('mmpretrain')
    model = MODELS.build(cfg.model)
    assert set(model.head.task_heads) == set(
        cfg.train_dataloader.dataset.datasets)
