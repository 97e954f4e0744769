"""tools/model_converters/publish_model.py on a Runner-style checkpoint
(message hub with HistoryBuffer, numpy, optimizer state)."""
import os.path as osp
import re
import subprocess
import sys
import tempfile
import unittest

import torch
from mmengine.logging import MessageHub

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'model_converters', 'publish_model.py')


def _runner_like_checkpoint(path: str) -> dict:
    model = torch.nn.Linear(3, 2)
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    optim.step()
    hub = MessageHub.get_instance('publish_model_test')
    hub.update_scalar('train/loss', 0.5)
    ckpt = dict(
        meta=dict(
            epoch=3,
            dataset_meta=dict(classes=('normal', 'ALL'), domains=['t'])),
        state_dict=model.state_dict(),
        optimizer=optim.state_dict(),
        message_hub=hub.state_dict())
    torch.save(ckpt, path)
    return ckpt


class TestPublishModel(unittest.TestCase):

    def test_publishes_a_weights_only_checkpoint(self):
        with tempfile.TemporaryDirectory() as tmp:
            src = osp.join(tmp, 'epoch_3.pth')
            ckpt = _runner_like_checkpoint(src)
            with self.assertRaises(Exception):  # what mmpretrain's tool hits
                torch.load(src, map_location='cpu')
            proc = subprocess.run(
                [sys.executable, SCRIPT, src,
                 osp.join(tmp, 'published.pth')],
                capture_output=True,
                text=True,
                timeout=300)
            self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
            match = re.search(r'publish-ckpt as (\S+)\.$', proc.stdout)
            self.assertIsNotNone(match, proc.stdout)
            out = match.group(1)
            self.assertRegex(
                osp.basename(out), r'^published_\d{8}-[0-9a-f]{8}\.pth$')
            pub = torch.load(out, map_location='cpu', weights_only=True)
            self.assertEqual(set(pub), {'meta', 'state_dict'})
            self.assertEqual(pub['meta']['dataset_meta']['classes'],
                             ('normal', 'ALL'))
            self.assertIn('mmpretrain_version', pub['meta'])
            for key, value in ckpt['state_dict'].items():
                torch.testing.assert_close(pub['state_dict'][key], value)

    def test_missing_output_dir(self):
        proc = subprocess.run(
            [sys.executable, SCRIPT, 'x.pth', '/nonexistent/dir/out.pth'],
            capture_output=True,
            text=True,
            timeout=300)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn('/nonexistent/dir', proc.stderr)


if __name__ == '__main__':
    unittest.main()
