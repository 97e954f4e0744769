"""The learning-curve figure of the report: test balanced accuracy (under
the decision rule) against the target training size, mean and 95 % CI
(bootstrap over draws) per method."""
import os.path as osp
import textwrap
from typing import Sequence

from .verdicts import (METRIC, Scored, curve_cell, groups_by_size,
                       metric_name, units_of)


def figure_title(title: str, width: int = 64) -> str:
    """``title`` for a figure: paths reduced to their last name (the task,
    not where it lies), wrapped to lines of ``width`` characters."""
    words = [osp.basename(osp.normpath(w)) if '/' in w and len(w) > 1
             else w for w in title.split()]
    return '\n'.join(textwrap.wrap(' '.join(words), width)) or ' '


def plot_learning_curve(records: Sequence[dict], methods: Sequence[str],
                        path: str, title: str,
                        decision: str = 'argmax') -> None:
    """Test balanced accuracy (under ``decision``) vs target training
    size, one line per method: mean and 95 % CI (bootstrap over draws)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    scored = Scored(records, decision)
    groups = groups_by_size(records)
    text = figure_title(title)
    fig, ax = plt.subplots(figsize=(6.4, 4.2 + 0.18 * text.count('\n')),
                           dpi=120)
    for k, method in enumerate(methods):
        xs, ys, lo, hi = [], [], [], []
        for size, rows in groups.items():
            c = curve_cell(scored, rows, method, METRIC)
            if c['mean'] is not None:
                xs.append(size * (1 + 0.015 * (k - len(methods) / 2)))
                ys.append(100 * c['mean'])
                low = c['mean'] if c['low'] is None else c['low']
                high = c['mean'] if c['high'] is None else c['high']
                lo.append(100 * (c['mean'] - low))
                hi.append(100 * (high - c['mean']))
        if xs:
            ax.errorbar(xs, ys, yerr=[lo, hi], marker='o', capsize=3,
                        label=method)
    ax.set_xscale('log')
    ax.set_xticks(list(groups))
    ax.set_xticklabels([str(s) for s in groups])
    ax.minorticks_off()
    ax.set_xlabel('target training images')
    ax.set_ylabel(f'test {metric_name(METRIC, decision)} (%)\n'
                  f'mean and 95 % CI over {units_of(records)}', fontsize=9)
    ax.set_title(text, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

