"""The run spec module that breaks the runner <-> worker import cycle."""
import ast
import os.path as osp
import unittest

import dl4all_mm.evaluation as evaluation
from dl4all_mm.evaluation import protocol_runner, run_spec


def _imported_modules(module) -> set:
    tree = ast.parse(open(module.__file__, encoding='utf-8').read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names.add(node.module or '')
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


class TestRunSpec(unittest.TestCase):

    def test_worker_does_not_import_the_runner(self):
        path = osp.join(osp.dirname(evaluation.__file__), 'protocol_worker.py')
        tree = ast.parse(open(path, encoding='utf-8').read())
        modules = {
            node.module
            for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        self.assertIn('run_spec', modules)
        self.assertNotIn('protocol_runner', modules)
        self.assertNotIn('protocol_runner', _imported_modules(run_spec))
        self.assertNotIn('protocol_worker', _imported_modules(run_spec))

    def test_runner_reexports_the_spec(self):
        self.assertIs(protocol_runner.RunSpec, run_spec.RunSpec)
        self.assertIs(protocol_runner.stage_variables,
                      run_spec.stage_variables)

    def test_digest_changes_with_the_spec(self):
        a = run_spec.RunSpec('m', 0, None, [dict(config='a.py')])
        b = run_spec.RunSpec('m', 0, None, [dict(config='b.py')])
        self.assertNotEqual(a.digest, b.digest)
        self.assertEqual(a.digest, run_spec.RunSpec(
            'm', 0, None, [dict(config='a.py')]).digest)
        opts, env = run_spec.stage_variables(
            run_spec.RunSpec('m', 3, 'f1', [dict(
                config='a.py', cfg_options=dict(x='{seed}-{fold}'))],
                env=dict(D='{run_dir}')), 'RUN', 0, None)
        self.assertEqual((opts, env), (dict(x='3-f1'), dict(D='RUN')))
