"""The text ``tools/run_demo.py`` prints: the methods side by side, their
confusion matrices, and what the numbers can and cannot say."""
from typing import Dict, List, Sequence, Tuple

# (key in the results, title), in table order.
DEMO_METHODS: Tuple[Tuple[str, str], ...] = (('dl4all', 'DL4ALL'),
                                             ('target_only', 'target-only'))

# Several seeds on the demo data with paired tests (one size, the whole
# training split, so one label draw and 5 repeats): the command for an
# answer (README, "Does DL4ALL beat transfer learning on my data?").
BCCD = 'data/demo/bccd_wbc'
REAL_ANSWER = (
    'python tools/compare_transfer.py --source data/demo/pbc '
    f'--target {BCCD}/splits/train.txt --target-root {BCCD} '
    f'--target-test {BCCD}/splits/test.txt --target-test-root {BCCD} '
    '--methods target-only,dl4all-joint --target-sizes all '
    '--draws 1 --seeds 0,1,2,3,4 --work-dir work_dirs/compare_demo')


def side_by_side(results: Dict[str, Dict]) -> List[str]:
    """The test results of the methods as a table, one column a method.

    Wall times are not in it (they change from run to run; the table does
    not).

    Args:
        results: Method key -> result (``classes``, ``balanced_accuracy``,
            ``target_accuracy``, ``per_class_recall``), in
            :data:`DEMO_METHODS` order where present.

    Returns:
        list[str]: The table's lines.
    """
    keys = [k for k, _ in DEMO_METHODS if k in results]
    titles = dict(DEMO_METHODS)
    classes = results[keys[0]]['classes']
    width = max([len('balanced accuracy')] +
                [len(f'recall {c}') for c in classes])
    rows = [('balanced accuracy', 'balanced_accuracy'),
            ('accuracy', 'target_accuracy')]

    def line(label: str, cells: Sequence[str]) -> str:
        return f'  {label:<{width}}' + ''.join(f' {c:>12}' for c in cells)

    lines = [line('', [titles[k] for k in keys])]
    for label, key in rows:
        lines.append(line(label, [f'{results[k][key]:.3f}' for k in keys]))
    for c in classes:
        lines.append(
            line(f'recall {c}',
                 [f'{results[k]["per_class_recall"][c]:.3f}' for k in keys]))
    return lines


def comparison_notes(results: Dict[str, Dict]) -> List[str]:
    """Three lines under the table: what was compared, what the test set's
    size allows, and the command for a real answer.

    Args:
        results: Method key -> result (``backbone``, ``init``, ``steps``,
            ``classes``, ``confusion_matrix``).

    Returns:
        list[str]: The lines.
    """
    first = next(iter(results.values()))
    setups = {(r['backbone'], r['init']) for r in results.values()}
    setup = ' / '.join(f'{b} from {i}' for b, i in sorted(setups))
    steps = sorted({r['steps'] for r in results.values()})
    budget = (f'{steps[0]} optimizer steps each' if len(steps) == 1 else
              ' vs '.join(str(s) for s in steps) + ' optimizer steps')
    support = [sum(row) for row in first['confusion_matrix']]
    n_test = sum(support)
    small = min(range(len(support)), key=support.__getitem__)
    n_small = max(support[small], 1)
    return [
        f'Compared: {setup}, same input size, augmentation, optimizer and '
        f'budget ({budget}); DL4ALL also learns from the '
        'source (PBC) with its own head.',
        f'One seed, {n_test} test images, {support[small]} of them '
        f'{first["classes"][small]}: one image more or less moves that '
        f'recall by {1 / n_small:.3f} and the balanced accuracy by '
        f'{1 / n_small / len(support):.3f}, so gaps of that size are noise.',
        f'For an answer (5 seeds, paired tests): {REAL_ANSWER}',
    ]


def report(results: Dict[str, Dict], out: str) -> str:
    """The printed report: the side-by-side table, each method's confusion
    matrix, :func:`comparison_notes` and where the summary was written.

    Args:
        results: Method key -> result (see :func:`side_by_side` and
            :func:`comparison_notes`).
        out: Path of the written summary.

    Returns:
        str: The report.
    """
    titles = dict(DEMO_METHODS)
    first = next(iter(results.values()))
    n_test = sum(sum(row) for row in first['confusion_matrix'])
    lines = [
        '', '=== Demo: PBC -> BCCD white cells, held-out target test split '
        f'({n_test} images) ==='
    ]
    lines += side_by_side(results)
    for key, result in results.items():
        lines.append(f'{titles[key]} confusion matrix '
                     '(rows = truth, columns = prediction):')
        for c, row in zip(result['classes'], result['confusion_matrix']):
            lines.append(f'  {c:<12} {row}')
    lines += comparison_notes(results)
    lines.append(f'wrote {out}')
    return '\n'.join(lines)
