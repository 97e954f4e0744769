"""Bad configs fail before the first iteration with errors that name the
domain, file, field or value (DomainConfigCheckHook and the core's own
checks)."""
import os.path as osp

import pytest
from mmengine.runner import Runner

import dl4all_mm  # noqa: F401
from dl4all_mm.compat import EmptyDatasetError
from dl4all_mm.engine.runners import DL4ALLRunner
from dl4all_mm.engine.hooks.config_check_hook import ConfigMismatchError
from tests.test_reliability import tiny_runner


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('data'))
    tiny_runner.write_images(root)
    tiny_runner.write_images(root, {'target': (4, 2)}, seed=1, split='val')
    return root


class _Marker(tiny_runner.RecordHook):
    """Records iterations: a check must stop training before any."""


def _train(tmp_path, root, check=True, **kwargs):
    record = str(tmp_path / 'record.jsonl')
    hooks = [_Marker(record)] + kwargs.pop('custom_hooks', [])
    if check:
        hooks.append(dict(type='DomainConfigCheckHook'))
    cfg = tiny_runner.runner_cfg(
        str(tmp_path / 'work'), root, max_epochs=1, custom_hooks=hooks,
        **kwargs)
    DL4ALLRunner(**cfg).train()
    return record


def _ann(root, name, lines):
    with open(osp.join(root, name), 'w') as f:
        f.write(''.join(f'{line}\n' for line in lines))


def test_good_config_passes(tmp_path, data_root):
    record = _train(tmp_path, data_root, val=True)
    records = tiny_runner.read_records(record)
    assert len([r for r in records if 'batch_idx' in r]) == 5
    assert len([r for r in records if 'val' in r]) == 1


def test_head_num_classes_mismatch(tmp_path, data_root):
    with pytest.raises(ConfigMismatchError) as err:
        _train(tmp_path, data_root,
               model=tiny_runner.model_cfg(dict(source=3, target=3)))
    message = str(err.value)
    assert 'train[target]' in message and 'num_classes=3' in message
    assert '2 classes' in message and 'target_train.txt' in message
    assert not osp.exists(tmp_path / 'record.jsonl')


def test_unknown_domain_in_model(tmp_path, data_root):
    with pytest.raises(ConfigMismatchError) as err:
        _train(tmp_path, data_root,
               model=tiny_runner.model_cfg(dict(source=3, tgt=2)))
    assert "no head for ['target']" in str(err.value)
    assert "no data for ['tgt']" in str(err.value)


def test_unknown_domain_in_hook(tmp_path, data_root):
    with pytest.raises(ConfigMismatchError, match="domain='tgt'"):
        _train(tmp_path, data_root, custom_hooks=[
            dict(type='DomainBNRecalibHook', domain='tgt', num_batches=1)])


def test_unknown_domain_in_preprocessor(tmp_path, data_root):
    model = tiny_runner.model_cfg()
    model['data_preprocessor']['domain_norm'] = dict(
        source=dict(mean=[0] * 3, std=[1] * 3))
    with pytest.raises(ConfigMismatchError, match=r"\['target'\]"):
        _train(tmp_path, data_root, model=model)


def test_label_out_of_range(tmp_path, data_root):
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    _ann(root, 'target_train.txt',
         ['target/train_0.png 0', 'target/train_1.png 5'])
    with pytest.raises(ConfigMismatchError) as err:
        _train(tmp_path, root)
    message = str(err.value)
    assert 'target_train.txt' in message and '[0, 2)' in message
    assert "train_1.png': 5" in message


def test_label_out_of_range_without_the_hook_is_unclear(tmp_path):
    """What the hook prevents: the loss fails without naming the file."""
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    _ann(root, 'target_train.txt',
         ['target/train_0.png 0', 'target/train_1.png 5'])
    with pytest.raises(IndexError) as err:
        _train(tmp_path, root, check=False)
    assert 'train_1.png' not in str(err.value)


def test_val_label_out_of_range(tmp_path, data_root):
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    tiny_runner.write_images(root, {'target': (2, 2)}, split='val')
    _ann(root, 'target_val.txt', ['target/val_0.png 2'])
    with pytest.raises(ConfigMismatchError, match=r"val.*val_0.png': 2"):
        _train(tmp_path, root, val=True)


def test_missing_file(tmp_path):
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    _ann(root, 'source_train.txt',
         ['source/train_0.png 0', 'source/gone.png 1'])
    with pytest.raises(FileNotFoundError) as err:
        _train(tmp_path, root)
    assert 'gone.png' in str(err.value)
    assert 'source_train.txt' in str(err.value)


def test_empty_domain(tmp_path):
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    _ann(root, 'target_train.txt', [])
    with pytest.raises(EmptyDatasetError, match='target_train.txt'):
        _train(tmp_path, root)


@pytest.mark.parametrize('serialize', [True, False])
def test_empty_val_set(tmp_path, serialize):
    root = str(tmp_path / 'data')
    tiny_runner.write_images(root)
    _ann(root, 'target_val.txt', [])
    cfg = tiny_runner.runner_cfg(str(tmp_path / 'work'), root, val=True)
    cfg['val_dataloader']['dataset']['serialize_data'] = serialize
    # mmengine's serialisation fails first (DL4ALLRunner names the file);
    # without it the check hook does
    error = EmptyDatasetError if serialize else ConfigMismatchError
    with pytest.raises(error, match='target_val.txt'):
        _train(tmp_path, root, val=True,
               val_dataloader=cfg['val_dataloader'])


@pytest.mark.parametrize('part,change,match', [
    ('train_cfg', dict(source_domain='src'), "'src'"),
    ('batch_sampler', dict(batch_sizes=dict(source=2, tgt=2)), "'tgt'"),
    ('dataset', dict(main_domain='tgt'), "'tgt'"),
    ('head', dict(loss_weights=dict(tgt=1.0)), "'tgt'"),
    ('model', dict(eval_domain='tgt'), "'tgt'"),
    ('preprocessor', dict(default_domain='tgt'), "'tgt'"),
])
def test_unknown_domain_names_in_core_components(tmp_path, data_root, part,
                                                 change, match):
    cfg = tiny_runner.runner_cfg(str(tmp_path / 'work'), data_root,
                                 max_epochs=1)
    target = dict(
        train_cfg=cfg['train_cfg'],
        batch_sampler=cfg['train_dataloader']['batch_sampler'],
        dataset=cfg['train_dataloader']['dataset'],
        head=cfg['model']['head'],
        model=cfg['model'],
        preprocessor=cfg['model']['data_preprocessor'])[part]
    target.update(change)
    with pytest.raises(KeyError, match=match):
        Runner(**cfg).train()
