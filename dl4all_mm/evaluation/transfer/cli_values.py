"""Checks and parsing of ``tools/compare_transfer.py``'s values (kept
apart so the tool stays small): nonsense values exit 2 naming them."""
import argparse
from typing import List

from . import methods as tm
from .draws import check_selection, parse_draws
from .image_set import InputError


def parse_sizes(text: str) -> List[object]:
    """``'24,48,96,all'`` -> ``[24, 48, 96, 'all']``."""
    sizes: List[object] = []
    for part in (p.strip() for p in text.split(',')):
        if part == 'all':
            sizes.append('all')
        elif part.isdigit() and int(part) > 0:
            sizes.append(int(part))
        else:
            raise InputError(f'--target-sizes: {part!r} is not a positive '
                             'number or "all"')
    return sizes


def parse_recipe(items: List[str]) -> dict:
    """``--recipe KEY=NUMBER[,NUMBER]`` items as a dict of knobs."""
    out = {}
    for item in items:
        key, sep, value = item.partition('=')
        try:
            parts = [float(v) for v in value.split(',')]
        except ValueError:
            parts = None
        if key in ('norm', 'class_weight'):
            flag = '--norm' if key == 'norm' else '--class-weights'
            raise InputError(f'--recipe {item!r}: set {key} with {flag}')
        if not sep or not parts:
            raise InputError(f'--recipe {item!r} is not KEY=NUMBER[,NUMBER]')
        out[key] = tuple(parts) if len(parts) > 1 else parts[0]
    tm.recipe_of('target-only', out)  # unknown keys fail here
    return out


def parse_numbers(text: str, what: str, kind=int) -> list:
    """Comma-separated numbers of option ``what``."""
    try:
        return [kind(v) for v in text.split(',') if v.strip()]
    except ValueError:
        raise InputError(f'{what} {text!r}: expected comma-separated '
                         'numbers') from None


def parse_split(text: str, separate_test: bool) -> List[float]:
    """``--split`` as fractions; 3 numbers (2 or 3 with ``--target-test``)
    adding up to 100, every used share positive."""
    split = parse_numbers(text, '--split', float)
    counts = (2, 3) if separate_test else (3,)
    if len(split) not in counts:
        raise InputError(
            f'--split {text!r}: expected ' + (
                'TRAIN,VAL percentages (with --target-test)' if separate_test
                else 'TRAIN,VAL,TEST percentages, e.g. 60,20,20'))
    if abs(sum(split) - 100) > 1e-6:
        raise InputError(f'--split {text!r} adds up to {sum(split):g}, not '
                         '100')
    used = split[:2] if separate_test else split
    if min(used) <= 0:
        raise InputError(f'--split {text!r}: every share must be positive')
    return [v / 100 for v in split]


def check_values(args: argparse.Namespace) -> None:
    """Values that are nonsense whatever the data (exit 2 naming them)."""
    top = 4096 if args.allow_large_images else 1024
    if not 16 <= args.img_size <= top:
        raise InputError(
            f'--img-size {args.img_size}: expected 16 to {top} pixels' +
            ('' if args.allow_large_images else
             ' (--allow-large-images allows up to 4096)'))
    if args.source_limit is not None and args.source_limit <= 0:
        raise InputError(f'--source-limit {args.source_limit}: the source '
                         'limit must be a positive number of images')
    parse_draws(args.draws)
    check_selection(args.selection)
    if args.search_norms and not args.lr_search:
        raise InputError('--search-norms is the norm grid of --lr-search')
    seeds = parse_numbers(args.seeds, '--seeds')
    if not seeds:
        raise InputError(f'--seeds {args.seeds!r}: give at least one seed')
    bad = [s for s in seeds if not 0 <= s < 1000]
    if bad:
        raise InputError(f'--seeds {args.seeds!r}: repeat(s) {bad} not in '
                         '0..999 (run seed = 1000 * repeat + draw)')
    twice = sorted({s for s in seeds if seeds.count(s) > 1})
    if twice:
        raise InputError(f'--seeds {args.seeds!r}: seed(s) {twice} given '
                         'twice (each pair would count twice in the paired '
                         'tests)')
