"""DiagnosticMetric under a real 2-process gloo group: padded duplicates are
dropped, a rank without samples of the domain does not hang, and an error on
rank 0 is raised on every rank."""
import json
import multiprocessing as mp
import os
import os.path as osp
import tempfile
import traceback
from unittest import TestCase

import torch

WORLD_SIZE = 2
TIMEOUT_S = 150


def make_sample(index: int, domain: str):
    """A predicted domain sample as ``MultiTaskHead.predict`` returns it:
    the sample's own domain field is labelled and ``eval_mask`` is set."""
    from mmpretrain.structures import DataSample, MultiTaskDataSample
    sample = MultiTaskDataSample(metainfo=dict(domain=domain, idx=index))
    for name in ('source', 'target'):
        p1 = (index * 37 % 10 + 0.5) / 10
        field = DataSample().set_pred_score(torch.tensor([1 - p1, p1]))
        if name == domain:
            field.set_gt_label(index % 2 if index != 2 else 1)
        field.set_field(name == domain, 'eval_mask', field_type='metainfo')
        sample.set_field(field, name)
    return sample


def plain(sample, domain='target'):
    """The domain field alone, as a plain ``DataSample``."""
    return sample.get(domain)


def expected(samples, domain='target'):
    """Single-process reference on the unique, evaluated samples."""
    from dl4all_mm.evaluation.metrics import diagnostic_scores
    rows = [s.get(domain) for s in samples if s.metainfo['domain'] == domain]
    return diagnostic_scores(
        torch.cat([r.gt_label for r in rows]),
        torch.stack([r.pred_score for r in rows]).argmax(1), 2,
        torch.stack([r.pred_score for r in rows]))


SCENARIOS = dict(
    # 5 plain samples: rank 1 holds [1, 3, 0 (padded duplicate)]
    padded_plain=(['target'] * 5, None, 'cpu'),
    # rank 1 holds only source samples [1, 3]
    rank_without_domain=(['target', 'source'] * 2, 'target', 'cpu'),
    # rank 1 holds [1, 3 (source), 0 (padded duplicate)]
    padded_domain=(['target', 'target', 'target', 'source',
                    'target'], 'target', 'cpu'),
    # same through the all_gather_object path of collect_results
    padded_domain_device=(['target', 'target', 'target', 'source',
                           'target'], 'target', 'gpu'),
)


def worker(rank: int, init_file: str, out_dir: str) -> None:
    """Run every scenario on one rank and write what it saw."""
    os.environ.setdefault('OMP_NUM_THREADS', '1')
    os.chdir(out_dir)  # collect_results_cpu makes .dist_test/ in the cwd
    torch.set_num_threads(1)
    report = {}
    try:
        torch.distributed.init_process_group(
            'gloo',
            init_method=f'file://{init_file}',
            rank=rank,
            world_size=WORLD_SIZE)
        from mmengine.dataset import DefaultSampler

        from dl4all_mm.evaluation.metrics import DiagnosticMetric
        for name, (domains, domain, device) in SCENARIOS.items():
            samples = [make_sample(i, d) for i, d in enumerate(domains)]
            indices = list(DefaultSampler(samples, shuffle=False))
            metric = DiagnosticMetric(
                domain=domain, prefix='m', collect_device=device)
            batch = [samples[i] for i in indices]
            if domain is None:
                batch = [plain(s) for s in batch]
            metric.process(None, [s.to_dict() for s in batch])
            out = metric.evaluate(len(samples))
            want = expected(samples)
            report[name] = dict(
                indices=indices,
                cm=out['m/confusion_matrix'],
                want_cm=want['confusion_matrix'],
                auc=out['m/auc'],
                want_auc=want['auc'])
        # Nothing of the domain anywhere: every rank must raise, not hang.
        samples = [make_sample(i, 'source') for i in range(3)]
        indices = list(DefaultSampler(samples, shuffle=False))
        metric = DiagnosticMetric(domain='target')
        metric.process(None, [samples[i].to_dict() for i in indices])
        try:
            metric.evaluate(len(samples))
            report['error'] = None
        except (ValueError, RuntimeError) as err:
            report['error'] = f'{type(err).__name__}: {err}'
        torch.distributed.barrier()
    except Exception:  # reported to the parent process
        report['exception'] = traceback.format_exc()
    with open(osp.join(out_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(report, f)


class TestDiagnosticMetricDistributed(TestCase):

    def test_two_process_gloo(self):
        ctx = mp.get_context('spawn')
        with tempfile.TemporaryDirectory() as tmp:
            procs = [
                ctx.Process(
                    target=worker, args=(rank, osp.join(tmp, 'init'), tmp))
                for rank in range(WORLD_SIZE)
            ]
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.join(TIMEOUT_S)
            hung = [p for p in procs if p.is_alive()]
            for proc in hung:
                proc.kill()
                proc.join()
            self.assertFalse(hung, f'ranks hung for over {TIMEOUT_S} s')
            reports = []
            for rank in range(WORLD_SIZE):
                with open(osp.join(tmp, f'rank{rank}.json')) as f:
                    reports.append(json.load(f))
        for rank, report in enumerate(reports):
            self.assertNotIn('exception', report, report.get('exception'))
            for name in SCENARIOS:
                got = report[name]
                self.assertEqual(got['cm'], got['want_cm'], (rank, name))
                self.assertAlmostEqual(got['auc'], got['want_auc'], 6)
            self.assertRegex(report['error'] or '',
                             "no sample of domain 'target'")
        # The scenarios really have padding / an empty rank.
        self.assertEqual(reports[1]['padded_plain']['indices'], [1, 3, 0])
        self.assertEqual(reports[1]['rank_without_domain']['indices'], [1, 3])
        self.assertEqual(reports[1]['padded_domain']['indices'], [1, 3, 0])
        self.assertEqual(sum(map(sum, reports[0]['padded_domain']['cm'])), 4)
