"""Tests of dl4all_mm.datasets.leakage: shared files, identical contents
and shared patient/slide ids between train and val/test."""
import shutil

import pytest

from dl4all_mm.datasets.leakage import (file_sha256, find_leakage,
                                        format_leaks)


@pytest.fixture
def files(tmp_path):
    """Five small files; ``dup.png`` has the content of ``a.png``."""
    paths = {}
    for name, content in [('a', b'A' * 50), ('b', b'B' * 50),
                          ('c', b'C' * 60), ('d', b'D' * 50)]:
        paths[name] = str(tmp_path / f'{name}.png')
        with open(paths[name], 'wb') as f:
            f.write(content)
    paths['dup'] = str(tmp_path / 'sub' / 'dup.png')
    (tmp_path / 'sub').mkdir()
    shutil.copy(paths['a'], paths['dup'])
    return paths


def test_disjoint_splits(files):
    train = [dict(img_path=files['a']), dict(img_path=files['b'])]
    val = [dict(img_path=files['c']), dict(img_path=files['d'])]
    assert find_leakage(train, dict(val=val)) == []


def test_same_file(files, tmp_path):
    train = [dict(img_path=files['a']), dict(img_path=files['b'])]
    # the same file under another spelling of its path
    other = str(tmp_path / 'sub' / '..' / 'b.png')
    leaks = find_leakage(train, dict(test=[dict(img_path=other)]),
                         checks=['path'])
    assert [(x.kind, x.split, x.train_path) for x in leaks] == [
        ('path', 'test', files['b'])
    ]


def test_same_content_other_name(files):
    train = [dict(img_path=files['a']), dict(img_path=files['b'])]
    val = [dict(img_path=files['dup']), dict(img_path=files['d'])]
    leaks = find_leakage(train, dict(val=val))
    assert [(x.kind, x.train_path, x.other_path) for x in leaks] == [
        ('hash', files['a'], files['dup'])
    ]
    assert leaks[0].key == file_sha256(files['a'])
    assert find_leakage(train, dict(val=val), checks=['path', 'id']) == []


def test_ids_within_a_domain_only(files):
    train = [
        dict(img_path=files['a'], patient_id='P1', domain='target'),
        dict(img_path=files['b'], group='001', domain='source'),
    ]
    # a plain val set belongs to the default (eval) domain
    val = [dict(img_path=files['c'], patient_id='P1'),
           dict(img_path=files['d'], group='001')]
    leaks = find_leakage(train, dict(val=val), checks=['id'],
                         default_domain='target')
    assert [(x.kind, x.key, x.train_path, x.other_path) for x in leaks] == [
        ('patient_id', 'target/P1', files['a'], files['c'])
    ]
    # the source's slide '001' is unrelated to anything of the target
    assert find_leakage(train, dict(val=val), checks=['id'],
                        default_domain='source')[0].key == 'source/001'


def test_format_lists_first_offenders(files):
    train = [dict(img_path=files[k], patient_id=k) for k in 'abcd']
    val = [dict(img_path=files[k], patient_id=k) for k in 'abc']
    leaks = find_leakage(train, dict(val=val))
    text = format_leaks(leaks, max_report=2)
    assert 'train vs val: 3 files in both' in text
    assert 'train vs val: 3 patient_id values shared' in text
    assert files['a'] in text and files['c'] not in text.split('\n')[1:3]


def test_unknown_check():
    with pytest.raises(ValueError, match='Unknown leakage checks'):
        find_leakage([], {}, checks=['names'])


def test_reencoded_copy_by_pixels(tmp_path):
    """A PNG saved again as BMP (other bytes, same pixels) is found by the
    pixel check only; a different image of the same size is not."""
    import cv2
    import numpy as np
    from dl4all_mm.datasets.leakage import pixel_sha256
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (12, 10, 3), dtype=np.uint8)
    png, bmp, other = (str(tmp_path / n) for n in ('a.png', 'a.bmp',
                                                    'b.png'))
    cv2.imwrite(png, img)
    cv2.imwrite(bmp, img)
    cv2.imwrite(other, 255 - img)
    assert file_sha256(png) != file_sha256(bmp)
    assert pixel_sha256(png) == pixel_sha256(bmp) != pixel_sha256(other)
    train = [dict(img_path=png)]
    test = [dict(img_path=bmp), dict(img_path=other)]
    assert find_leakage(train, dict(test=test),
                        checks=['path', 'hash']) == []
    leaks = find_leakage(train, dict(test=test))
    assert [(x.kind, x.train_path, x.other_path) for x in leaks] == [
        ('pixels', png, bmp)
    ]
    text = format_leaks(leaks, train_name='source')
    assert 'source vs test: 1 images with identical pixels' in text
    assert png in text and bmp in text


def test_byte_copies_are_not_reported_again_by_pixels(tmp_path):
    """Two byte copies of a training image in val: one hash leak (one per
    content), and neither copy reported again as a pixel leak."""
    import cv2
    import numpy as np
    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (8, 9, 3), dtype=np.uint8)
    t, v1, v2 = (str(tmp_path / n) for n in ('t.png', 'v1.png', 'v2.png'))
    cv2.imwrite(t, img)
    shutil.copy(t, v1)
    shutil.copy(t, v2)
    leaks = find_leakage([dict(img_path=t)],
                         dict(val=[dict(img_path=v1), dict(img_path=v2)]))
    assert [(x.kind, x.train_path, x.other_path) for x in leaks] == [
        ('hash', t, v1)
    ]


def test_shared_paths_names_every_copy(tmp_path):
    """Every training path holding held-out content: the same file, byte
    copies and re-encoded copies; not a different image."""
    import cv2
    import numpy as np
    from dl4all_mm.datasets.leakage import shared_paths
    rng = np.random.default_rng(2)
    img = rng.integers(0, 255, (8, 9, 3), dtype=np.uint8)
    held, same, copy, bmp, other = (
        str(tmp_path / n)
        for n in ('h.png', 'same.png', 'copy.png', 'c.bmp', 'o.png'))
    cv2.imwrite(held, img)
    cv2.imwrite(same, 255 - img)
    shutil.copy(held, copy)
    cv2.imwrite(bmp, img)
    cv2.imwrite(other, img // 2)
    train = [copy, other, bmp, same, str(tmp_path / '.' / 'h.png')]
    assert shared_paths(train, [held, same]) == [copy, bmp, same, train[4]]
    assert shared_paths(train, []) == []
