"""LeakageGuardHook: training refuses to start when train overlaps val or
test, unless the override is set."""
import os.path as osp
import shutil
from unittest import mock

import pytest
from mmengine.runner import Runner

import dl4all_mm  # noqa: F401
from dl4all_mm.datasets.leakage import DataLeakageError
from dl4all_mm.engine.hooks import LeakageGuardHook
from tests.test_reliability import tiny_runner


@pytest.fixture
def root(tmp_path):
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    tiny_runner.write_images(root, {'target': (3, 2)}, seed=1, split='val')
    tiny_runner.write_images(root, {'target': (3, 2)}, seed=2, split='test')
    return root


def _runner(tmp_path, root, **hook):
    cfg = tiny_runner.runner_cfg(
        str(tmp_path / 'work'), root, max_epochs=1, val=True,
        custom_hooks=[dict(type='LeakageGuardHook', **hook)])
    test = dict(cfg['val_dataloader'])
    test['dataset'] = tiny_runner.dataset_cfg(root, 'target', split='test')
    cfg.update(test_dataloader=test, test_cfg=dict(),
               test_evaluator=dict(type='Accuracy'))
    return Runner(**cfg)


def _append(root, ann, line):
    with open(osp.join(root, ann), 'a') as f:
        f.write(line + '\n')


def test_clean_splits_train(tmp_path, root):
    runner = _runner(tmp_path, root)
    runner.train()
    assert runner.iter == 5


def test_train_file_in_val(tmp_path, root):
    _append(root, 'target_val.txt', 'target/train_3.png 1')
    runner = _runner(tmp_path, root)
    with pytest.raises(DataLeakageError) as err:
        runner.train()
    message = str(err.value)
    assert 'train vs val: 1 files in both' in message
    assert osp.join(root, 'target/train_3.png') in message
    assert 'allow_leakage=True' in message
    assert runner.iter == 0
    assert not osp.exists(tmp_path / 'work' / 'last_checkpoint')


def test_identical_image_in_test(tmp_path, root):
    shutil.copy(osp.join(root, 'source/train_4.png'),
                osp.join(root, 'target/copy.png'))
    _append(root, 'target_test.txt', 'target/copy.png 0')
    with pytest.raises(DataLeakageError) as err:
        _runner(tmp_path, root).train()
    message = str(err.value)
    assert 'train vs test: 1 identical images' in message
    assert 'source/train_4.png' in message and 'target/copy.png' in message


def test_reencoded_source_image_in_test(tmp_path, root):
    # the source domain of a DL4ALL (interleaved) training set: a copy of
    # a source image re-encoded losslessly (other bytes, same pixels)
    import cv2
    img = cv2.imread(osp.join(root, 'source/train_4.png'))
    cv2.imwrite(osp.join(root, 'target/copy.bmp'), img)
    _append(root, 'target_test.txt', 'target/copy.bmp 0')
    with pytest.raises(DataLeakageError) as err:
        _runner(tmp_path, root).train()
    message = str(err.value)
    assert 'train vs test: 1 images with identical pixels' in message
    assert 'source/train_4.png' in message and 'target/copy.bmp' in message


def test_only_selected_splits_and_checks(tmp_path, root):
    _append(root, 'target_test.txt', 'target/train_3.png 1')
    # the leak is in the test split: a guard of 'val' only, or of ids only
    # (these files carry no patient id), lets training run to the end
    runner = _runner(tmp_path, root, splits=['val'])
    runner.train()
    assert runner.iter == 5
    runner = _runner(tmp_path / 'b', root, checks=['id'])
    runner.train()
    assert runner.iter == 5
    # ... while guarding 'test' by path stops it before the first step
    runner = _runner(tmp_path / 'c', root, splits=['test'], checks=['path'])
    with pytest.raises(DataLeakageError, match='train vs test'):
        runner.train()
    assert runner.iter == 0


def test_override_warns_and_trains(tmp_path, root):
    _append(root, 'target_val.txt', 'target/train_3.png 1')
    runner = _runner(tmp_path, root, allow_leakage=True)
    with mock.patch.object(runner.logger, 'warning') as warning:
        runner.train()
    assert runner.iter == 5
    assert any('train_3.png' in str(call) for call in warning.call_args_list)


def test_bad_arguments():
    with pytest.raises(ValueError, match='splits'):
        LeakageGuardHook(splits=['train'])
    with pytest.raises(ValueError, match='checks'):
        LeakageGuardHook(checks=['name'])
